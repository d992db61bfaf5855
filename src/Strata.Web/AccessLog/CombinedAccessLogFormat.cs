using System.Buffers;
using System.Globalization;
using System.Text;
using Strata.Hosting.Logs;
using static Strata.Hosting.Logs.LogText;

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
        Number(output, entry.Duration.TotalSeconds, "0.000");
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
}
