using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Strata.Web.AccessLog;

/// <summary>
/// nginx's <c>combined</c> format followed by <c>$request_time</c> in seconds:
/// <c>$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time</c>.
/// </summary>
/// <remarks>
/// As in nginx, a missing value is <c>-</c>, and in the quoted fields <c>"</c>, <c>\</c>, control characters and
/// bytes above 0x7E are written <c>\xHH</c>, so a client cannot forge a line or a field.
/// </remarks>
internal sealed class CombinedAccessLogFormat(TimeProvider time) : IAccessLogFormat
{
    /// <summary>Longest UTF-8 form of one UTF-16 char, escaped: 3 bytes, each as \xHH.</summary>
    private const int MaxEscapedBytesPerChar = 12;

    // $time_local changes once a second: formatted then and reused, as nginx caches it. The format is used by the
    // single writer loop only, so the cache needs no lock.
    private readonly byte[] _timeLocal = new byte[64];
    private int _timeLocalLength;
    private long _timeLocalSecond = long.MinValue;

    public string Name => AccessLogFormats.Combined;

    public void Write(in AccessLogEntry entry, IBufferWriter<byte> output)
    {
        Raw(output, entry.Remote);
        Raw(output, " - - [");
        output.Write(TimeLocal(entry.Time));
        Raw(output, "] \"");
        Escaped(output, entry.Method);
        Raw(output, " ");
        Escaped(output, entry.Target);
        Raw(output, " ");
        Escaped(output, entry.Protocol);
        Raw(output, "\" ");
        Number(output, entry.Status);
        Raw(output, " ");
        Number(output, entry.Bytes);
        Raw(output, " \"");
        Escaped(output, string.IsNullOrEmpty(entry.Referer) ? "-" : entry.Referer);
        Raw(output, "\" \"");
        Escaped(output, string.IsNullOrEmpty(entry.UserAgent) ? "-" : entry.UserAgent);
        Raw(output, "\" ");
        var span = output.GetSpan(32);
        entry.Duration.TotalSeconds.TryFormat(span, out var written, "0.000", CultureInfo.InvariantCulture);
        output.Advance(written);
        Raw(output, "\n");
    }

    /// <summary><c>dd/MMM/yyyy:HH:mm:ss +hhmm</c> in the local zone, formatted once per second.</summary>
    private ReadOnlySpan<byte> TimeLocal(DateTimeOffset utc)
    {
        var second = utc.UtcTicks / TimeSpan.TicksPerSecond;
        if (second != _timeLocalSecond)
        {
            var local = TimeZoneInfo.ConvertTime(utc, time.LocalTimeZone);
            var offset = local.Offset;
            var text = local.ToString("dd/MMM/yyyy:HH:mm:ss ", CultureInfo.InvariantCulture)
                + (offset < TimeSpan.Zero ? "-" : "+")
                + offset.Duration().ToString("hhmm", CultureInfo.InvariantCulture);
            _timeLocalLength = Encoding.ASCII.GetBytes(text, _timeLocal);
            _timeLocalSecond = second;
        }

        return _timeLocal.AsSpan(0, _timeLocalLength);
    }

    private static void Raw(IBufferWriter<byte> output, string text)
    {
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        output.Advance(Encoding.UTF8.GetBytes(text, span));
    }

    private static void Number(IBufferWriter<byte> output, long value)
    {
        var span = output.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out var written);
        output.Advance(written);
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 with the bytes nginx escapes as \xHH, without an intermediate array.</summary>
    private static void Escaped(IBufferWriter<byte> output, string text)
    {
        var span = output.GetSpan(text.Length * MaxEscapedBytesPerChar);
        Span<byte> utf8 = stackalloc byte[4];
        var n = 0;
        var chars = text.AsSpan();
        while (!chars.IsEmpty)
        {
            if (chars[0] < 0x80)
            {
                n += EscapedByte(span[n..], (byte)chars[0]);
                chars = chars[1..];
                continue;
            }

            // A lone surrogate becomes U+FFFD, as Encoding.UTF8 writes it.
            Rune.DecodeFromUtf16(chars, out var rune, out var consumed);
            var length = rune.EncodeToUtf8(utf8);
            foreach (var b in utf8[..length])
            {
                n += EscapedByte(span[n..], b);
            }

            chars = chars[consumed..];
        }

        output.Advance(n);
    }

    private static int EscapedByte(Span<byte> span, byte b)
    {
        if (b is < 0x20 or >= 0x7F or (byte)'"' or (byte)'\\')
        {
            span[0] = (byte)'\\';
            span[1] = (byte)'x';
            span[2] = (byte)"0123456789ABCDEF"[b >> 4];
            span[3] = (byte)"0123456789ABCDEF"[b & 0xF];
            return 4;
        }

        span[0] = b;
        return 1;
    }
}
