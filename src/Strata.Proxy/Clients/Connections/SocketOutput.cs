using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Microsoft.AspNetCore.Connections;

namespace Strata.Proxy.Clients.Connections;

/// <summary>
/// Writes a connection's answers straight to its socket, past Kestrel's output pipe: a buffer with one <c>send</c>, a file
/// with <see cref="Socket.SendPacketsAsync"/> (on Linux, <c>sendfile(2)</c>: the page cache to the socket, no copy through
/// user space, as nginx's <c>sendfile on</c>). Each write completes once the kernel has taken its bytes, so answers
/// written one after another with awaits arrive in order; a write that waits for the client longer than the client
/// timeout aborts the connection (<see cref="SendTimeout"/>).
/// </summary>
/// <remarks>
/// Why past the pipe: Kestrel copies a response into its output pipe (64 KiB, so a larger body waits for a flush and
/// resumes on a pool thread), then its sender loop copies it into the socket; for a 100 KiB file that cost about twice
/// nginx's CPU per request (docs/benchmarks.md).
/// </remarks>
internal sealed class SocketOutput(Socket socket, ConnectionContext connection, long timeout)
{
    private PacketsArgs? _packets;

    /// <summary>Sends <paramref name="bytes"/>; false when the connection failed or was aborted.</summary>
    public ValueTask<bool> SendAsync(ReadOnlyMemory<byte> bytes)
    {
        ValueTask<int> send;
        try
        {
            send = socket.SendAsync(bytes, SocketFlags.None);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return new(false);
        }

        if (send.IsCompletedSuccessfully)
        {
            send.GetAwaiter().GetResult();
            return new(true);
        }

        return WaitAsync(send);
    }

    /// <summary>Sends <paramref name="head"/> then the file's bytes; false when the connection failed or the file changed under the send.</summary>
    public ValueTask<bool> SendFileAsync(Memory<byte> head, FileStream file, long offset, int count)
    {
        var packets = _packets ??= new PacketsArgs();
        // The head element is made per answer (its length changes); the elements hold no state of a send.
        packets.Elements[0] = new SendPacketsElement(head);
        packets.Elements[1] = new SendPacketsElement(file, offset, count, endOfPacket: true);
        packets.SendPacketsElements = packets.Elements;
        packets.Expected = head.Length + (long)count;
        ValueTask<bool> send;
        try
        {
            send = packets.SendAsync(socket);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or ArgumentException or IOException)
        {
            return new(false);
        }

        return send.IsCompleted ? send : WaitAsync(send);
    }

    // Only when a send waits for the client: the pooling builder spares an allocation for each one.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> WaitAsync(ValueTask<int> send)
    {
        SendTimeout.Watch(connection, timeout);
        try
        {
            await send;
            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            return false;
        }
        finally
        {
            SendTimeout.Unwatch(connection);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> WaitAsync(ValueTask<bool> send)
    {
        SendTimeout.Watch(connection, timeout);
        try
        {
            return await send;
        }
        finally
        {
            SendTimeout.Unwatch(connection);
        }
    }

    /// <summary>One <see cref="SocketAsyncEventArgs"/> per connection for its file sends, awaitable without an allocation per send.</summary>
    private sealed class PacketsArgs() : SocketAsyncEventArgs(unsafeSuppressExecutionContextFlow: true), IValueTaskSource<bool>
    {
        private ManualResetValueTaskSourceCore<bool> _source;

        public SendPacketsElement[] Elements { get; } = new SendPacketsElement[2];

        /// <summary>The bytes the send must have taken: fewer when the file was cut short under it (sendfile stops at its end), and the answer then lacks part of its body.</summary>
        public long Expected { get; set; }

        private bool Succeeded => SocketError == SocketError.Success && BytesTransferred == Expected;

        public ValueTask<bool> SendAsync(Socket socket)
        {
            _source.Reset();
            return socket.SendPacketsAsync(this) ? new ValueTask<bool>(this, _source.Version) : new ValueTask<bool>(Succeeded);
        }

        public bool GetResult(short token) => _source.GetResult(token);

        public ValueTaskSourceStatus GetStatus(short token) => _source.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _source.OnCompleted(continuation, state, token, flags);

        protected override void OnCompleted(SocketAsyncEventArgs e) => _source.SetResult(Succeeded);
    }
}
