using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;

namespace Strata.Proxy.Clients.Connections;

/// <summary>
/// What a client's HTTP/2 connection gives Kestrel, read through a count of its frames: a header block continued by
/// more than <see cref="MaxContinuationFrames"/> CONTINUATION frames cuts the connection off (CVE-2024-27316's family).
/// </summary>
/// <remarks>
/// Written by hand because Kestrel has no such limit: it bounds the size of a header block (32 KiB here), which stops
/// a block that grows, but not one of empty CONTINUATION frames, which never grows and never ends (measured: a million
/// of them in 16 s on one connection, never cut off). nghttp2 stops at 8 (<c>nghttp2_option_set_max_continuations</c>);
/// so does this. A client needs at most three for a 32 KiB block in 16 KiB frames. Only the 9-byte frame headers are
/// read, in place; payloads are skipped unread.
/// </remarks>
internal sealed class Http2FrameGuard(PipeReader inner, ConnectionContext connection) : PipeReader
{
    /// <summary>CONTINUATION frames allowed after one HEADERS or PUSH_PROMISE frame.</summary>
    public const int MaxContinuationFrames = 8;

    private const int FrameHeaderLength = 9;
    private const byte Headers = 0x1;
    private const byte PushPromise = 0x5;
    private const byte Continuation = 0x9;

    // The client preface ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") comes before the first frame: skipped as a payload.
    private long _skip = 24;
    private ReadOnlySequence<byte> _last;
    private long _scanned;
    private int _continuations;
    private bool _cutOff;

    /// <summary>Puts the guard between the connection's decrypted input and what reads it next (Kestrel's HTTP/2).</summary>
    public static void Install(ConnectionContext connection) =>
        connection.Transport = new GuardedPipe(new Http2FrameGuard(connection.Transport.Input, connection), connection.Transport.Output);

    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) =>
        Inspect(await inner.ReadAsync(cancellationToken));

    public override bool TryRead(out ReadResult result)
    {
        if (!inner.TryRead(out result))
        {
            return false;
        }

        result = Inspect(result);
        return true;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        if (_cutOff)
        {
            return;
        }

        _scanned -= _last.GetOffset(consumed) - _last.GetOffset(_last.Start);
        inner.AdvanceTo(consumed, examined);
    }

    public override void CancelPendingRead() => inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    private ReadResult Inspect(ReadResult result)
    {
        if (_cutOff)
        {
            return new ReadResult(ReadOnlySequence<byte>.Empty, isCanceled: false, isCompleted: true);
        }

        var buffer = result.Buffer;
        _last = buffer;
        Span<byte> header = stackalloc byte[FrameHeaderLength];
        while (true)
        {
            var available = buffer.Length - _scanned;
            if (_skip > 0)
            {
                var skipped = Math.Min(_skip, available);
                _scanned += skipped;
                _skip -= skipped;
                if (_skip > 0)
                {
                    break;
                }

                continue;
            }

            if (available < FrameHeaderLength)
            {
                break;
            }

            buffer.Slice(_scanned, FrameHeaderLength).CopyTo(header);
            _scanned += FrameHeaderLength;
            _skip = header[0] << 16 | header[1] << 8 | header[2];
            if (header[3] is Headers or PushPromise)
            {
                _continuations = 0;
            }
            else if (header[3] == Continuation && ++_continuations > MaxContinuationFrames)
            {
                _cutOff = true;
                inner.AdvanceTo(buffer.End);
                connection.Abort(new ConnectionAbortedException($"more than {MaxContinuationFrames} CONTINUATION frames in one header block"));
                return new ReadResult(ReadOnlySequence<byte>.Empty, isCanceled: false, isCompleted: true);
            }
        }

        return result;
    }

    private sealed class GuardedPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
