using System.Diagnostics;
using System.Net;
using ARSoft.Tools.Net.Dns;
using Strata.Topology;
using static Strata.Tests.Dns.RawDns;

namespace Strata.Tests.Dns;

/// <summary>Response rate limiting on a real node with the defaults (20/s per /24, window 15 s, slip 2), seen from clients.</summary>
public class DnsRateLimitTests(DnsNodeFixture node) : IClassFixture<DnsNodeFixture>
{
    private static readonly TimeSpan Answered = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task Udp_FloodFromOneNetwork_LimitedWhileAnotherNetworkAnsweredInFull()
    {
        using var flooder = new RawUdpClient(ClientNetworks.Next(), node.Port);
        using var neighbour = new RawUdpClient(ClientNetworks.Next(), node.Port);
        var (answered, truncated, sent) = (0, 0, 0);
        var clock = Stopwatch.StartNew();

        // 300 queries in bursts of 50 (what the sockets buffer), and between bursts one query from the other network.
        for (var burst = 0; burst < 6; burst++)
        {
            for (var i = 0; i < 50; i++)
            {
                await flooder.SendAsync(Query(id: (ushort)sent++));
            }

            var other = await neighbour.ExchangeAsync(Query(id: (ushort)burst), Answered);
            Assert.NotNull(other);
            var otherMessage = DnsMessage.Parse(other);
            Assert.False(otherMessage.IsTruncated);
            Assert.Equal(DnsTestTopology.VipAddress, Assert.IsType<ARecord>(Assert.Single(otherMessage.AnswerRecords)).Address);

            while (await flooder.ReceiveAsync(TimeSpan.FromMilliseconds(200)) is { } response)
            {
                var message = DnsMessage.Parse(response);
                Assert.Equal(ReturnCode.NoError, message.ReturnCode);
                if (message.IsTruncated)
                {
                    // A truncated answer: the question only, so the client asks again over TCP.
                    Assert.Empty(message.AnswerRecords);
                    Assert.Single(message.Questions);
                    truncated++;
                }
                else
                {
                    Assert.Single(message.AnswerRecords);
                    answered++;
                }
            }
        }

        var seconds = clock.Elapsed.TotalSeconds;

        // One second's worth at once, then 20 a second; of the rest, every 2nd truncated and the others dropped.
        Assert.InRange(answered, 20, 20 + (int)Math.Ceiling(20 * seconds));
        var limited = sent - answered;
        Assert.Equal(limited / 2, truncated);
    }

    [Fact]
    public async Task Dig_FromLimitedNetwork_TruncatedAnswerThenTheAnswerOverTcp()
    {
        var flooder = ClientNetworks.Next();
        await FloodAsync(flooder, 300);

        // Limited for the window now (300 over the rate): dig gets a truncated answer within two tries, then asks over TCP.
        var output = await Dig.QueryAsync(node.Port, "-b", ClientNetworks.Neighbour(flooder, 2).ToString(), "+tries=2", "+time=1", "www.foobar.com", "A");

        Assert.Contains(";; Truncated, retrying in TCP mode.", output, StringComparison.Ordinal);
        Assert.Matches(@"www\.foobar\.com\.\s+60\s+IN\s+A\s+127\.0\.0\.100", output);

        // +ignore shows the truncated answer itself; +tcp is never limited.
        var ignored = await Dig.QueryAsync(node.Port, "-b", ClientNetworks.Neighbour(flooder, 3).ToString(), "+tries=2", "+time=1", "+ignore", "www.foobar.com", "A");
        Assert.Matches(@"flags:[^;]*\btc\b", ignored);
        Assert.Contains("ANSWER: 0,", ignored, StringComparison.Ordinal);
        var tcp = await Dig.QueryAsync(node.Port, "-b", ClientNetworks.Neighbour(flooder, 4).ToString(), "+tcp", "www.foobar.com", "A", "+short");
        Assert.Equal("127.0.0.100", tcp.Trim());
    }

    private async Task FloodAsync(IPAddress source, int count)
    {
        using var client = new RawUdpClient(source, node.Port);
        for (var sent = 0; sent < count; sent += 50)
        {
            for (var i = 0; i < 50; i++)
            {
                await client.SendAsync(Query(id: (ushort)(sent + i)));
            }

            while (await client.ReceiveAsync(TimeSpan.FromMilliseconds(200)) is not null)
            {
            }
        }
    }
}

/// <summary>A node whose rate limit table has 256 slots, to see it stay at that size.</summary>
public sealed class SmallTableDnsNodeFixture : DnsNodeFixture
{
    protected override DnsRateLimitSpec RateLimit => DnsRateLimitSpec.Default with { TableSize = 256 };
}

public class DnsRateLimitTableTests(SmallTableDnsNodeFixture node) : IClassFixture<SmallTableDnsNodeFixture>
{
    [Fact]
    public async Task Udp_QueriesFrom1024Networks_AllAnsweredAndTableAtItsSize()
    {
        // 127.200.0.0/24 to 127.203.255.0/24: four networks a slot on average, each well within the rate.
        var networks = Enumerable.Range(0, 1024).Select(i => new IPAddress([127, (byte)(200 + (i >> 8)), (byte)i, 1])).ToArray();
        var answered = 0;
        foreach (var chunk in networks.Chunk(128))
        {
            var clients = chunk.Select(a => new RawUdpClient(a, node.Port)).ToArray();
            try
            {
                foreach (var client in clients)
                {
                    await client.SendAsync(Query());
                }

                foreach (var client in clients)
                {
                    var response = await client.ReceiveAsync(TimeSpan.FromSeconds(3));
                    if (response is not null && DnsMessage.Parse(response) is { IsTruncated: false, AnswerRecords.Count: 1 })
                    {
                        answered++;
                    }
                }
            }
            finally
            {
                Array.ForEach(clients, c => c.Dispose());
            }
        }

        Assert.Equal(1024, answered);
        Assert.InRange(node.Limiter.TrackedNetworks, 200, 256);
        Assert.Equal("127.0.0.100", (await Dig.QueryAsync(node.Port, "www.foobar.com", "A", "+short")).Trim());
    }
}
