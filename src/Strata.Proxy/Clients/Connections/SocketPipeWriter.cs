using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace Strata.Proxy.Clients.Connections;

/// <summary>
/// A <see cref="PipeWriter"/> over a connection's <see cref="SocketOutput"/>: what is written is held in one buffer of
/// the connection and sent by <see cref="FlushAsync"/> with one <c>send</c>, which completes once the kernel has taken it.
/// The forwarder relays answers into it as into Kestrel's output pipe, so that on a connection whose other answers go
/// straight to the socket (the web node's files) a relayed answer cannot be overtaken by, or overtake, another.
/// </summary>
/// <remarks>
/// Why not Kestrel's pipe there: its own loop sends what is flushed later, after the flush has returned, so a direct
/// write of the next answer could go out first. Why not <see cref="PipeWriter.Create(Stream, StreamPipeWriterOptions?)"/>
/// over a <c>NetworkStream</c>: its sends would not be under the send timeout, and it rents a segment per flush.
/// </remarks>
internal sealed class SocketPipeWriter(SocketOutput socket) : PipeWriter
{
    private const int InitialSize = 4096;

    private byte[] _buffer = [];
    private int _written;
    private bool _failed;

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _written;

    public override void Advance(int bytes) => _written += bytes;

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        // Reserve first: it may replace the buffer.
        var start = Reserve(sizeHint);
        return _buffer.AsMemory(start);
    }

    public override Span<byte> GetSpan(int sizeHint = 0)
    {
        var start = Reserve(sizeHint);
        return _buffer.AsSpan(start);
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (_failed)
        {
            _written = 0;
            return new(new FlushResult(isCanceled: false, isCompleted: true));
        }

        if (_written == 0)
        {
            return new(default(FlushResult));
        }

        var send = socket.SendAsync(_buffer.AsMemory(0, _written));
        _written = 0;
        if (send.IsCompletedSuccessfully)
        {
            return new(Sent(send.Result));
        }

        return WaitAsync(send);
    }

    public override void CancelPendingFlush()
    {
    }

    public override void Complete(Exception? exception = null)
    {
    }

    // Only when a send waits for the client: the pooling builder spares an allocation for each one.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<FlushResult> WaitAsync(ValueTask<bool> send) => Sent(await send);

    /// <summary>A failed send completes the writer: the client is gone (or too slow), nothing more goes out.</summary>
    private FlushResult Sent(bool sent)
    {
        _failed |= !sent;
        return new FlushResult(isCanceled: false, isCompleted: !sent);
    }

    /// <summary>Makes room for at least <paramref name="sizeHint"/> bytes after what is written; returns where they start.</summary>
    private int Reserve(int sizeHint)
    {
        var needed = _written + Math.Max(sizeHint, 1);
        if (needed > _buffer.Length)
        {
            var grown = new byte[Math.Max(needed, Math.Max(InitialSize, _buffer.Length * 2))];
            _buffer.AsSpan(0, _written).CopyTo(grown);
            _buffer = grown;
        }

        return _written;
    }
}
