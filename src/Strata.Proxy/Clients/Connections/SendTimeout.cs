using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Strata.Proxy.Clients.Connections;

/// <summary>
/// Disconnects a client that leaves what it is sent unread for the client timeout: a connection middleware, so it
/// holds for every way in of the listener (the connection path, Kestrel's HTTP/1.1 and HTTP/2, over TLS or not).
/// HAProxy's <c>timeout client</c> while it sends, nginx's <c>send_timeout</c>.
/// </summary>
/// <remarks>
/// Kestrel's MinResponseDataRate does not do this: it gives each write the time its bytes take at 240 B/s, added up
/// over the connection, so a client that stops reading after a fast start (or after many pipelined requests) keeps its
/// connection, and the kernel's send buffer with it, for hours. A flush that completes at once costs nothing more here;
/// one that waits is watched by a timer once a second, as the client timeout is (<see cref="ConnectionForwarder"/>).
/// </remarks>
public static class SendTimeout
{
    // The connections whose writes wait for their client, with the time each must end by (one write at a time per connection).
    private static readonly ConcurrentDictionary<ConnectionContext, long> Waiting = new();

    private static readonly Timer Heartbeat = new(static _ => AbortLate(), null, 1000, 1000);

    /// <summary>Watches the flushes of this listener's connections: one that waits longer than <paramref name="timeout"/> aborts its connection.</summary>
    public static ListenOptions UseSendTimeout(this ListenOptions listen, TimeSpan timeout)
    {
        var milliseconds = (long)timeout.TotalMilliseconds;
        listen.Use(next => context =>
        {
            context.Transport = new Transport(context.Transport.Input, new WatchedOutput(context.Transport.Output, context, milliseconds));
            return next(context);
        });
        return listen;
    }

    /// <summary>Watches a write of <paramref name="connection"/> that waits (one past Kestrel's output, <see cref="SocketOutput"/>): it must end within <paramref name="timeout"/> ms.</summary>
    internal static void Watch(ConnectionContext connection, long timeout) => Waiting[connection] = Environment.TickCount64 + timeout;

    /// <summary>The write <see cref="Watch"/> watched has ended.</summary>
    internal static void Unwatch(ConnectionContext connection) => Waiting.TryRemove(connection, out _);

    private static void AbortLate()
    {
        var now = Environment.TickCount64;
        foreach (var (connection, deadline) in Waiting)
        {
            if (now > deadline)
            {
                connection.Abort(new ConnectionAbortedException("the client read nothing of what it was sent within the client timeout"));
            }
        }
    }

    private sealed class Transport(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;

        public PipeWriter Output => output;
    }

    /// <summary>The connection's output as it was, but for flushes that wait, which are watched.</summary>
    private sealed class WatchedOutput(PipeWriter inner, ConnectionContext connection, long timeout) : PipeWriter
    {
        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            var flush = inner.FlushAsync(cancellationToken);
            return flush.IsCompleted ? flush : WaitAsync(flush);
        }

        public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
        {
            var write = inner.WriteAsync(source, cancellationToken);
            return write.IsCompleted ? write : WaitAsync(write);
        }

        public override void Advance(int bytes) => inner.Advance(bytes);

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

        // Only when a flush waits for the client: the pooling builder spares an allocation for each one.
        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        private async ValueTask<FlushResult> WaitAsync(ValueTask<FlushResult> flush)
        {
            Watch(connection, timeout);
            try
            {
                return await flush;
            }
            finally
            {
                Unwatch(connection);
            }
        }
    }
}
