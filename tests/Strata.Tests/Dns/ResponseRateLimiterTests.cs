using System.Net;
using Microsoft.Extensions.Time.Testing;
using Strata.Dns.RateLimiting;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.Dns;

public class ResponseRateLimiterTests
{
    private static readonly IPAddress Client = IPAddress.Parse("192.0.2.7");

    private readonly FakeTimeProvider _time = new();
    private readonly ListLogger<ResponseRateLimiter> _log = new();

    [Fact]
    public void Check_WithinOneSecondsWorth_Sends()
    {
        var limiter = Limiter();

        Assert.All(Check(limiter, Client, 20), v => Assert.Equal(RateLimitVerdict.Send, v));
        Assert.NotEqual(RateLimitVerdict.Send, limiter.Check(Client));
    }

    [Fact]
    public void Check_BeyondRate_EverySecondLimitedSlipsTheOthersDrop()
    {
        var limiter = Limiter();
        Check(limiter, Client, 20);

        Assert.Equal(
            [RateLimitVerdict.Drop, RateLimitVerdict.Slip, RateLimitVerdict.Drop, RateLimitVerdict.Slip, RateLimitVerdict.Drop, RateLimitVerdict.Slip],
            Check(limiter, Client, 6));
    }

    [Fact]
    public void Check_SlipZero_AllLimitedDropped()
    {
        var limiter = Limiter(DnsRateLimitSpec.Default with { Slip = 0 });
        Check(limiter, Client, 20);

        Assert.All(Check(limiter, Client, 10), v => Assert.Equal(RateLimitVerdict.Drop, v));
    }

    [Fact]
    public void Check_RateRefills_SendsAgainAtTheRate()
    {
        var limiter = Limiter();
        Check(limiter, Client, 21);

        // 20 per second: one more every 50 ms, less the one limited (debited too, as in BIND).
        _time.Advance(TimeSpan.FromMilliseconds(150));

        Assert.Equal([RateLimitVerdict.Send, RateLimitVerdict.Send], Check(limiter, Client, 2));
        Assert.NotEqual(RateLimitVerdict.Send, limiter.Check(Client));
    }

    [Fact]
    public void Check_AfterAFlood_LimitedForTheWindowThenSends()
    {
        var limiter = Limiter();
        Check(limiter, Client, 10_000);

        // The debt stops at a window's worth (15 s × 20), paid back at 20 a second.
        _time.Advance(TimeSpan.FromSeconds(14));
        Assert.NotEqual(RateLimitVerdict.Send, limiter.Check(Client));
        _time.Advance(TimeSpan.FromSeconds(1.2));
        Assert.Equal(RateLimitVerdict.Send, limiter.Check(Client));
    }

    [Theory]
    [InlineData("10.1.2.3", "10.1.2.250", "10.1.3.3")]
    [InlineData("2001:db8:0:100::1", "2001:db8:0:1ff:ffff::1", "2001:db8:0:200::1")]
    public void Check_SameNetwork_SharesOneBudget(string client, string sameNetwork, string nextNetwork)
    {
        var limiter = Limiter();
        Check(limiter, IPAddress.Parse(client), 20);

        Assert.NotEqual(RateLimitVerdict.Send, limiter.Check(IPAddress.Parse(sameNetwork)));
        Assert.Equal(RateLimitVerdict.Send, limiter.Check(IPAddress.Parse(nextNetwork)));
    }

    [Fact]
    public void Check_Ipv4MappedToIpv6_CountsAsTheIpv4Address()
    {
        var limiter = Limiter();
        Check(limiter, Client, 20);

        Assert.NotEqual(RateLimitVerdict.Send, limiter.Check(Client.MapToIPv6()));
    }

    [Fact]
    public void Check_PrefixLength32_EachAddressItsOwnBudget()
    {
        var limiter = Limiter(DnsRateLimitSpec.Default with { Ipv4PrefixLength = 32 });
        Check(limiter, IPAddress.Parse("10.1.2.3"), 20);

        Assert.Equal(RateLimitVerdict.Send, limiter.Check(IPAddress.Parse("10.1.2.4")));
    }

    [Fact]
    public void Check_ResponsesPerSecondZero_AlwaysSendsAndTracksNothing()
    {
        var limiter = Limiter(DnsRateLimitSpec.Default with { ResponsesPerSecond = 0 });

        Assert.All(Check(limiter, Client, 1000), v => Assert.Equal(RateLimitVerdict.Send, v));
        Assert.Equal(0, limiter.TrackedNetworks);
    }

    [Fact]
    public void Check_MoreNetworksThanTheTable_TableStaysAtItsSize()
    {
        var limiter = Limiter(DnsRateLimitSpec.Default with { TableSize = 64 });

        for (var i = 0; i < 10_000; i++)
        {
            limiter.Check(new IPAddress([10, (byte)(i >> 8), (byte)i, 1]));
        }

        Assert.InRange(limiter.TrackedNetworks, 1, 64);
    }

    [Fact]
    public void Check_NetworkLimitedAgainWithinTheWindow_LoggedOnce()
    {
        var limiter = Limiter();
        Check(limiter, Client, 30);
        _time.Advance(TimeSpan.FromSeconds(3));
        Check(limiter, Client, 30);

        Assert.Equal(["DNS dns rate limiting 192.0.2.0/24 started: more than 20 responses per second over UDP"], _log.Lines);

        // After a window, a network limited again is logged again.
        _time.Advance(TimeSpan.FromSeconds(16));
        Check(limiter, Client, 30);
        Assert.Equal(2, _log.Lines.Count);
    }

    [Fact]
    public void Check_ManyNetworksLimited_TenLinesAndOneMorePerWindow()
    {
        var limiter = Limiter();

        for (var i = 0; i < 50; i++)
        {
            Check(limiter, new IPAddress([10, 0, (byte)i, 1]), 21);
        }

        Assert.Equal(11, _log.Lines.Count);
        Assert.Equal("DNS dns rate limiting 10.0.9.0/24 started: more than 20 responses per second over UDP", _log.Lines[9]);
        Assert.Equal("DNS dns rate limiting more than 10 networks within 15 s; the others are not logged until then", _log.Lines[10]);
    }

    private static RateLimitVerdict[] Check(ResponseRateLimiter limiter, IPAddress client, int count) =>
        [.. Enumerable.Range(0, count).Select(_ => limiter.Check(client))];

    private ResponseRateLimiter Limiter(DnsRateLimitSpec? spec = null) => new(spec ?? DnsRateLimitSpec.Default, "dns", _log, _time);
}
