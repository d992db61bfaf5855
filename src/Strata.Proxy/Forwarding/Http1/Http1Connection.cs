using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Strata.Proxy.Forwarding.Http1;

/// <summary>
/// One HTTP/1.1 connection to a server, with the bytes received and not yet used, a buffer for request heads,
/// and one timer for the whole exchange (re-armed by each receive: the server timeout is an inactivity timeout,
/// as YARP's ActivityTimeout and HAProxy's timeout server).
/// </summary>
internal sealed class Http1Connection : IDisposable
{
    /// <summary>The largest response head accepted (HttpClient's default limit).</summary>
    public const int MaxHeadSize = 64 * 1024;

    private const int BufferSize = 16 * 1024;

    private readonly Socket _socket;
    private readonly CancellationTokenSource _cancel = new();
    private byte[] _buffer = new byte[BufferSize];
    private int _start;
    private int _end;
    private TimeSpan _timeout = Timeout.InfiniteTimeSpan;

    private Http1Connection(Socket socket, IPEndPoint endPoint)
    {
        _socket = socket;
        EndPoint = endPoint;
    }

    /// <summary>The server's address.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>Where request heads are written before they are sent; grown when a head needs more.</summary>
    public byte[] HeadBuffer = new byte[4096];

    /// <summary>The last response head parsed on this connection (reused: no allocation per response).</summary>
    public ResponseHead Head { get; } = new();

    /// <summary>Response header strings this connection has seen (reused across its responses).</summary>
    public ResponseHeaderStrings HeaderStrings { get; } = new();

    /// <summary>When it was last returned to its pool (<see cref="Environment.TickCount64"/>).</summary>
    public long IdleSince { get; set; }

    /// <summary>The bytes received and not yet consumed.</summary>
    public ReadOnlySpan<byte> Buffered => _buffer.AsSpan(_start, _end - _start);

    /// <summary>Opens a connection to <paramref name="endPoint"/> from <paramref name="source"/> (<see cref="UpstreamSocket"/>) within <paramref name="timeout"/>.</summary>
    /// <exception cref="SocketException">Refused, unreachable...</exception>
    /// <exception cref="OperationCanceledException">Not connected within the timeout.</exception>
    public static async ValueTask<Http1Connection> ConnectAsync(IPEndPoint endPoint, IPAddress? source, TimeSpan timeout)
    {
        var connection = new Http1Connection(UpstreamSocket.Create(endPoint, source), endPoint);
        try
        {
            connection.Arm(timeout);
            await connection._socket.ConnectAsync(endPoint, connection._cancel.Token);
            if (!connection.Disarm())
            {
                throw new OperationCanceledException();
            }

            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Starts the exchange's timer: each later receive must complete within <paramref name="timeout"/>.</summary>
    public void Arm(TimeSpan timeout)
    {
        _timeout = timeout > TimeSpan.Zero ? timeout : Timeout.InfiniteTimeSpan;
        _cancel.CancelAfter(_timeout);
    }

    /// <summary>Stops the timer; false when it fired or the exchange was aborted (the connection is then unusable).</summary>
    public bool Disarm() => _cancel.TryReset();

    /// <summary>Cancels what the connection is waiting for (the client went away).</summary>
    public void Abort()
    {
        try
        {
            _cancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask SendAsync(ReadOnlyMemory<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var sent = await _socket.SendAsync(bytes, SocketFlags.None, _cancel.Token);
            bytes = bytes[sent..];
        }
    }

    /// <summary>
    /// Receives into <paramref name="memory"/> (not the connection's buffer); pass the count to <see cref="Received"/>.
    /// </summary>
    /// <remarks>
    /// This and <see cref="FillAsync"/> return the socket's own reusable awaitable rather than being async methods:
    /// an async method that waits for the server allocates its state machine (a few hundred bytes per request, most
    /// of the load balancer's allocations, measured with dotnet-counters).
    /// </remarks>
    public ValueTask<int> ReceiveAsync(Memory<byte> memory) => _socket.ReceiveAsync(memory, SocketFlags.None, _cancel.Token);

    /// <summary>Re-arms the timer after a receive of <see cref="ReceiveAsync"/>; returns <paramref name="count"/> (0 at the end of the stream).</summary>
    public int Received(int count)
    {
        _cancel.CancelAfter(_timeout);
        return count;
    }

    /// <summary>Receives more bytes after those buffered; pass the count to <see cref="Filled"/>.</summary>
    /// <exception cref="InvalidDataException">The buffer is full and already holds <see cref="MaxHeadSize"/> bytes.</exception>
    public ValueTask<int> FillAsync()
    {
        if (_start == _end)
        {
            _start = _end = 0;
        }
        else if (_end == _buffer.Length)
        {
            if (_start == 0)
            {
                if (_buffer.Length >= MaxHeadSize)
                {
                    throw new InvalidDataException($"more than {MaxHeadSize / 1024} KiB without the end of a head or chunk line");
                }

                Array.Resize(ref _buffer, _buffer.Length * 2);
            }
            else
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
        }

        return _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, _cancel.Token);
    }

    /// <summary>Takes in the bytes a <see cref="FillAsync"/> received and re-arms the timer; false at the end of the stream.</summary>
    public bool Filled(int received)
    {
        _cancel.CancelAfter(_timeout);
        _end += received;
        return received > 0;
    }

    public void Consume(int count) => _start += count;

    /// <summary>Whether an idle connection is still open: a readable idle connection was closed by the server (or sent junk).</summary>
    public bool IsOpenAndQuiet()
    {
        try
        {
            return _start == _end && !_socket.Poll(0, SelectMode.SelectRead);
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        _socket.Dispose();
        _cancel.Dispose();
    }
}
