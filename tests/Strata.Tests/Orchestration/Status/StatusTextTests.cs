using Strata.Orchestration.Status;

namespace Strata.Tests.Orchestration.Status;

/// <summary>The table <c>strata status</c> prints.</summary>
public sealed class StatusTextTests
{
    [Fact]
    public void Format_DrainedNodeOneProxyDisagrees_ColumnsAndANote()
    {
        var report = new StatusReport("/x/strata.json", true, new VipReport("127.0.0.100:8080", "lb-1", ["lb-1"]),
        [
            new NodeStatus("dns", "dns", "127.0.0.1:8053", "http://127.0.0.1:8054/", 10, "ready", UptimeSeconds: 42),
            new NodeStatus("lb-1", "lb", "127.0.1.1:8080", "http://127.0.1.1:8081/", 11, "ready", new VrrpStatus("master", 200, true),
                UptimeSeconds: 3723, RequestsPerSecond: 12.34, ErrorRate: 0.0123),
            new NodeStatus("web-1", "web", "127.0.2.1:8080", "http://127.0.2.1:8081/", 12, "draining",
                UptimeSeconds: 90061, RequestsPerSecond: 0, ErrorRate: 0, SeenBy: new Dictionary<string, string> { ["lb-1"] = "DRAIN", ["lb-2"] = "UP" }),
            new NodeStatus("app-1", "app", "127.0.3.1:8080", "http://127.0.3.1:8081/", null, "down"),
        ]);

        var lines = StatusText.Format(report).Split(Environment.NewLine);

        Assert.Equal("NODE   ROLE  ADDRESS         STATE     PID  UPTIME  REQ/S  ERRORS  VRRP", lines[0]);
        Assert.Equal("dns    dns   127.0.0.1:8053  ready     10   42s     -      -", lines[1]);
        Assert.Equal("lb-1   lb    127.0.1.1:8080  ready     11   1h02m   12.3   1.2%    master (200)", lines[2]);
        Assert.Equal("web-1  web   127.0.2.1:8080  draining  12   1d01h   0      0.0%", lines[3]);
        Assert.Equal("app-1  app   127.0.3.1:8080  down      -    -       -      -", lines[4]);
        Assert.Equal("VIP 127.0.0.100:8080: held by lb-1", lines[5]);
        Assert.Equal("web-1 is draining, but not for every proxy in front: lb-1 has it DRAIN, lb-2 has it UP", lines[6]);
    }

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(59, "59s")]
    [InlineData(61, "1m01s")]
    [InlineData(3600, "1h00m")]
    [InlineData(86400 * 3 + 3600 * 5, "3d05h")]
    public void Duration_LikePs(long seconds, string expected) => Assert.Equal(expected, StatusText.Duration(seconds));
}
