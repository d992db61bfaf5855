using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Strata.Cluster.Peers;

/// <summary>
/// Notices a peer's death faster than the VRRP timers where the operating system can tell: every node listens on
/// TCP at its cluster address and keeps one connection open to each peer's. When a peer's process dies, its kernel
/// closes that connection at once and the read here ends, well before three advertisement intervals have passed.
/// A host that vanishes closes nothing; the timers remain the fallback for that.
/// </summary>
/// <remarks>
/// The same connections carry an <see cref="IPeerExchange"/>'s messages (the shared rate-limit tables), each framed by
/// its length (4 bytes, big-endian): a node writes on the connections its peers opened to it (every
/// <see cref="ExchangeInterval"/>, and everything at once to a peer that has just connected) and reads on those it
/// opened. The peers are the topology's load balancers, on the cluster's own addresses: what comes from any other
/// address is never accepted.
/// </remarks>
public sealed partial class PeerWatch : IAsyncDisposable
{
    /// <summary>How often changes go to the peers (HAProxy's peers push theirs as they come; a tenth of a second batches them).</summary>
    public static readonly TimeSpan ExchangeInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>The largest message accepted; a longer frame ends the connection.</summary>
    private const int MaxMessage = 1 << 20;

    private static readonly TimeSpan ReconnectDelay = TimeSpan.FromMilliseconds(100);

    private readonly IPeerExchange? _exchange;
    private readonly Lock _acceptedLock = new();
    private readonly List<Socket> _accepted = [];

    private readonly IPEndPoint _local;
    private readonly IReadOnlyList<IPEndPoint> _peers;
    private readonly Action<IPAddress> _peerLost;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private Socket? _listener;

    /// <summary>Watches <paramref name="peers"/> from <paramref name="local"/>; <paramref name="peerLost"/> gets a peer's address when its connection closes.</summary>
    /// <param name="exchange">State kept in step with the peers over the same connections, or null.</param>
    public PeerWatch(IPEndPoint local, IReadOnlyList<IPEndPoint> peers, Action<IPAddress> peerLost, ILogger logger, IPeerExchange? exchange = null)
    {
        _exchange = exchange;
        _local = local;
        _peers = peers;
        _peerLost = peerLost;
        _logger = logger;
    }

    /// <summary>Starts listening and connecting; returns at once.</summary>
    public void Start()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(_local);
        listener.Listen();
        _listener = listener;
        _loops.Add(AcceptLoopAsync(listener, _stop.Token));
        foreach (var peer in _peers)
        {
            _loops.Add(WatchLoopAsync(peer, _stop.Token));
        }

        if (_exchange is not null)
        {
            _loops.Add(ExchangeLoopAsync(_exchange, _stop.Token));
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener?.Dispose();
        try
        {
            await Task.WhenAll(_loops);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    /// <summary>Accepts peers' connections (from a peer's address only) and holds them open; with an exchange, sends each everything first.</summary>
    private async Task AcceptLoopAsync(Socket listener, CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var socket = await listener.AcceptAsync(stop);
                if (socket.RemoteEndPoint is not IPEndPoint remote || !_peers.Any(p => p.Address.Equals(remote.Address)))
                {
                    socket.Dispose();
                    continue;
                }

                if (_exchange is not null && !await SendAsync(socket, _exchange.Everything(), stop))
                {
                    socket.Dispose();
                    continue;
                }

                lock (_acceptedLock)
                {
                    _accepted.Add(socket);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            lock (_acceptedLock)
            {
                foreach (var socket in _accepted)
                {
                    socket.Dispose();
                }

                _accepted.Clear();
            }
        }
    }

    /// <summary>Every <see cref="ExchangeInterval"/>, sends the exchange's changes on every accepted connection; drops one that fails.</summary>
    private async Task ExchangeLoopAsync(IPeerExchange exchange, CancellationToken stop)
    {
        using var tick = new PeriodicTimer(ExchangeInterval);
        try
        {
            while (await tick.WaitForNextTickAsync(stop))
            {
                var changes = exchange.Changes();
                if (changes.Count == 0)
                {
                    continue;
                }

                Socket[] sockets;
                lock (_acceptedLock)
                {
                    sockets = [.. _accepted];
                }

                foreach (var socket in sockets)
                {
                    if (!await SendAsync(socket, changes, stop))
                    {
                        lock (_acceptedLock)
                        {
                            _accepted.Remove(socket);
                        }

                        socket.Dispose();
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Sends <paramref name="messages"/>, each after its length; false when the connection failed.</summary>
    private static async Task<bool> SendAsync(Socket socket, IReadOnlyList<byte[]> messages, CancellationToken stop)
    {
        var length = new byte[4];
        try
        {
            foreach (var message in messages)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(length, message.Length);
                await socket.SendAsync(length, SocketFlags.None, stop);
                await socket.SendAsync(message, SocketFlags.None, stop);
            }

            return true;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Reads framed messages from <paramref name="socket"/> into the exchange until the connection ends (then returns) or a frame is too long (throws).</summary>
    private static async Task ReceiveAsync(Socket socket, IPAddress peer, IPeerExchange? exchange, CancellationToken stop)
    {
        var buffer = new byte[64 * 1024];
        var filled = 0;
        while (true)
        {
            if (filled == buffer.Length)
            {
                Array.Resize(ref buffer, buffer.Length * 2);
            }

            var read = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, stop);
            if (read == 0)
            {
                return;
            }

            filled += read;
            var at = 0;
            while (filled - at >= 4)
            {
                var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(buffer.AsSpan(at));
                if (length is < 0 or > MaxMessage)
                {
                    throw new SocketException((int)SocketError.ProtocolNotSupported);
                }

                if (filled - at - 4 < length)
                {
                    break;
                }

                exchange?.Received(peer, buffer.AsSpan(at + 4, length));
                at += 4 + length;
            }

            buffer.AsSpan(at, filled - at).CopyTo(buffer);
            filled -= at;
        }
    }

    /// <summary>Connects to a peer and waits for the connection to close; reconnects while the peer is away.</summary>
    private async Task WatchLoopAsync(IPEndPoint peer, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                // From our own address, so the peer sees which node it is.
                socket.Bind(new IPEndPoint(_local.Address, 0));
                await socket.ConnectAsync(peer, stop);
                await ReceiveAsync(socket, peer.Address, _exchange, stop);

                LogPeerLost(peer);
                _peerLost(peer.Address);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException ex) when (socket.Connected || ex.SocketErrorCode is SocketError.ConnectionReset)
            {
                LogPeerLost(peer);
                _peerLost(peer.Address);
            }
            catch (SocketException)
            {
                // Not there (yet): try again shortly.
            }

            try
            {
                await Task.Delay(ReconnectDelay, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(EventId = 30, Level = LogLevel.Information, Message = "peer {Peer} closed its cluster connection: its process ended")]
    private partial void LogPeerLost(IPEndPoint peer);
}
