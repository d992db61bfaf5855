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
    public string Name => AccessLogFormats.Combined;

    public void Write(in AccessLogEntry entry, IBufferWriter<byte> output)
    {
        Raw(output, entry.Remote);
        Raw(output, " - - [");
        var local = TimeZoneInfo.ConvertTime(entry.Time, time.LocalTimeZone);
        Raw(output, local.ToString("dd/MMM/yyyy:HH:mm:ss ", CultureInfo.InvariantCulture));
        var offset = local.Offset;
        Raw(output, offset < TimeSpan.Zero ? "-" : "+");
        Raw(output, offset.Duration().ToString("hhmm", CultureInfo.InvariantCulture));
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
        Raw(output, entry.Duration.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture));
        Raw(output, "\n");
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

    private static void Escaped(IBufferWriter<byte> output, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var span = output.GetSpan(bytes.Length * 4);
        var n = 0;
        foreach (var b in bytes)
        {
            if (b is < 0x20 or >= 0x7F or (byte)'"' or (byte)'\\')
            {
                span[n++] = (byte)'\\';
                span[n++] = (byte)'x';
                span[n++] = (byte)"0123456789ABCDEF"[b >> 4];
                span[n++] = (byte)"0123456789ABCDEF"[b & 0xF];
            }
            else
            {
                span[n++] = b;
            }
        }

        output.Advance(n);
    }
}
