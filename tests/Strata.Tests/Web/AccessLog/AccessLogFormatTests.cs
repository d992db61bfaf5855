using System.Buffers;
using System.Net;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Strata.Topology;
using Strata.Web.AccessLog;

namespace Strata.Tests.Web.AccessLog;

/// <summary>The combined format's line, byte for byte: escaping of non-ASCII and lone surrogates, the cached local time.</summary>
public sealed class AccessLogFormatTests
{
    [Fact]
    public void Combined_Entry_NginxLine()
    {
        var time = new FakeTimeProvider();
        time.SetLocalTimeZone(TimeZoneInfo.CreateCustomTimeZone("minus-two-thirty", TimeSpan.FromMinutes(-150), "-02:30", "-02:30"));
        var format = new CombinedAccessLogFormat(time);
        var output = new ArrayBufferWriter<byte>();
        var at = new DateTimeOffset(2026, 11, 26, 1, 2, 3, TimeSpan.Zero);

        format.Write(Entry(at, "caf\u00e9 \"q\" \\ \u0001 \U0001F600 \ud800"), output);
        format.Write(Entry(at.AddMilliseconds(500), "-"), output);
        format.Write(Entry(at.AddSeconds(1), "x"), output);

        var lines = Encoding.ASCII.GetString(output.WrittenSpan).Split('\n');
        Assert.Equal(
            "10.0.0.1 - - [25/Nov/2026:22:32:03 -0230] \"GET /a%20b?x=1 HTTP/1.1\" 200 1024 \"-\" "
            + "\"caf\\xC3\\xA9 \\x22q\\x22 \\x5C \\x01 \\xF0\\x9F\\x98\\x80 \\xEF\\xBF\\xBD\" 0.002",
            lines[0]);
        Assert.Contains("[25/Nov/2026:22:32:03 -0230]", lines[1]);
        Assert.Contains("[25/Nov/2026:22:32:04 -0230]", lines[2]);
    }

    private static AccessLogEntry Entry(DateTimeOffset at, string userAgent) => new(
        at, IPAddress.Parse("10.0.0.1"), null, "GET", "/a%20b?x=1", "HTTP/1.1", 200, 1024, null, userAgent,
        TimeSpan.FromMilliseconds(1.6), null, TrustedPeers.None);
}
