using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Strata.Hosting.Logs;
using static Strata.Hosting.Logs.LogText;

namespace Strata.Proxy.RequestLog;

/// <summary>
/// HAProxy's <c>option httplog</c> line without the syslog header, one request a line:
/// <c>client:port [date] frontend route pool/server TR/Tw/Tc/Tr/Ta status bytes retries termination "method target protocol"</c>,
/// e.g. <c>10.0.0.7:52814 [06/Dec/2026:20:35:50.123] vip default web/web-1 0/0/1/2/3 200 612 0 -- "GET / HTTP/1.1"</c>.
/// </summary>
/// <remarks>
/// The date is the local time with milliseconds, as HAProxy's; timers in whole milliseconds, -1 for a phase not
/// reached or not measured; the frontend is <c>vip</c> for the VIP and the node's name for its own address, with
/// <c>~</c> after it over TLS (HAProxy's mark of an SSL frontend); a missing server is <c>-</c>. The request is quoted
/// with <c>"</c>, <c>\</c>, control characters and bytes above 0x7E written <c>\xHH</c>.
/// </remarks>
internal sealed class HttpLogFormat(string nodeName, System.Net.IPEndPoint vip, TimeProvider time) : ILogLineFormat<RequestLogEntry>
{
    // The date's text to the second changes once a second: formatted then and reused. The format is used by the
    // single writer loop only, so the cache needs no lock.
    private readonly byte[] _date = new byte[32];
    private int _dateLength;
    private long _dateSecond = long.MinValue;

    public void Write(in RequestLogEntry entry, IBufferWriter<byte> output)
    {
        Address(output, entry.Client);
        Char(output, ':');
        Number(output, entry.ClientPort);
        Raw(output, " ["u8);
        Date(output, entry.Date);
        Raw(output, "] "u8);
        Raw(output, Frontend(entry, nodeName, vip));
        if (entry.Tls)
        {
            Char(output, '~');
        }

        Char(output, ' ');
        Raw(output, entry.Route);
        Char(output, ' ');
        Raw(output, entry.Pool);
        Char(output, '/');
        Raw(output, entry.Server ?? "-");
        Char(output, ' ');
        var times = entry.Times;
        Milliseconds(output, times.Receive);
        Char(output, '/');
        Milliseconds(output, times.Queue);
        Char(output, '/');
        Milliseconds(output, times.Connect);
        Char(output, '/');
        Milliseconds(output, times.Response);
        Char(output, '/');
        Milliseconds(output, times.Total);
        Char(output, ' ');
        Number(output, entry.Status);
        Char(output, ' ');
        Number(output, entry.Bytes);
        Char(output, ' ');
        Number(output, entry.Retries);
        Char(output, ' ');
        Char(output, entry.Termination.Cause);
        Char(output, entry.Termination.Phase);
        Raw(output, " \""u8);
        Escaped(output, entry.Method);
        Char(output, ' ');
        Escaped(output, entry.Target);
        Char(output, ' ');
        Escaped(output, entry.Protocol);
        Raw(output, "\"\n"u8);
    }

    /// <summary><c>vip</c> when the client connected to the VIP's address and port, else the node's name (its own address).</summary>
    internal static string Frontend(in RequestLogEntry entry, string nodeName, System.Net.IPEndPoint vip) =>
        entry.LocalPort == vip.Port && entry.Local is { } local && (local.IsIPv4MappedToIPv6 ? local.MapToIPv4() : local).Equals(vip.Address) ? "vip" : nodeName;

    private static void Milliseconds(IBufferWriter<byte> output, long ticks) =>
        Number(output, ticks < 0 ? -1 : ticks * 1000 / Stopwatch.Frequency);

    /// <summary><c>dd/MMM/yyyy:HH:mm:ss.fff</c> in the local zone, the part to the second formatted once per second.</summary>
    private void Date(IBufferWriter<byte> output, DateTimeOffset utc)
    {
        var second = utc.UtcTicks / TimeSpan.TicksPerSecond;
        if (second != _dateSecond)
        {
            var local = TimeZoneInfo.ConvertTime(utc, time.LocalTimeZone);
            _dateLength = Encoding.ASCII.GetBytes(local.ToString("dd/MMM/yyyy:HH:mm:ss.", CultureInfo.InvariantCulture), _date);
            _dateSecond = second;
        }

        Raw(output, _date.AsSpan(0, _dateLength));
        var millisecond = (int)(utc.UtcTicks / TimeSpan.TicksPerMillisecond % 1000);
        var span = output.GetSpan(3);
        millisecond.TryFormat(span, out _, "000", CultureInfo.InvariantCulture);
        output.Advance(3);
    }
}
