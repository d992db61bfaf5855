using System.Net;
using ARSoft.Tools.Net;
using ARSoft.Tools.Net.Dns;
using Strata.Tests.Common;

namespace Strata.Tests.Dns;

public class DnsNodeTests(DnsNodeFixture node) : IClassFixture<DnsNodeFixture>
{
    [Fact]
    public async Task Query_AWwwOverUdp_ReturnsVip()
    {
        var response = await ResolveAsync(new UdpClientTransport(node.Port), "www.foobar.com", RecordType.A);

        Assert.Equal(ReturnCode.NoError, response.ReturnCode);
        Assert.True(response.IsAuthoritiveAnswer);
        var record = Assert.IsType<ARecord>(Assert.Single(response.AnswerRecords));
        Assert.Equal(DnsTestTopology.VipAddress, record.Address);
    }

    [Fact]
    public async Task Query_AWwwOverTcp_ReturnsVip()
    {
        var response = await ResolveAsync(new TcpClientTransport(node.Port), "www.foobar.com", RecordType.A);

        Assert.Equal(ReturnCode.NoError, response.ReturnCode);
        Assert.True(response.IsAuthoritiveAnswer);
        var record = Assert.IsType<ARecord>(Assert.Single(response.AnswerRecords));
        Assert.Equal(DnsTestTopology.VipAddress, record.Address);
    }

    [Fact]
    public async Task Query_UnknownNameOverUdp_NxDomainWithSoa()
    {
        var response = await ResolveAsync(new UdpClientTransport(node.Port), "nope.foobar.com", RecordType.A);

        Assert.Equal(ReturnCode.NxDomain, response.ReturnCode);
        Assert.IsType<SoaRecord>(Assert.Single(response.AuthorityRecords));
    }

    [Fact]
    public async Task Query_OutsideZoneOverTcp_Refused()
    {
        var response = await ResolveAsync(new TcpClientTransport(node.Port), "example.org", RecordType.A);

        Assert.Equal(ReturnCode.Refused, response.ReturnCode);
    }

    [Fact]
    public async Task Metrics_QueriesByTransportTypeAndResponseCode_LabelledWithNodeAndTier()
    {
        await ResolveAsync(new UdpClientTransport(node.Port), "www.foobar.com", RecordType.Aaaa);
        await ResolveAsync(new TcpClientTransport(node.Port), "nope.foobar.com", RecordType.Mx);
        using var client = new HttpClient();

        var text = await client.GetStringAsync(new Uri(node.ManagementUrl, "/metrics"));

        MetricsText.AssertEveryLabelled(text, "dns", "dns");
        Assert.True(MetricsText.Value(text, "strata_dns_queries_total{transport=\"udp\",type=\"AAAA\",rcode=\"NOERROR\"") >= 1, text);
        Assert.True(MetricsText.Value(text, "strata_dns_queries_total{transport=\"tcp\",type=\"MX\",rcode=\"NXDOMAIN\"") >= 1, text);
        // Series of queries never asked are not published.
        Assert.DoesNotContain("rcode=\"SERVFAIL\"", text, StringComparison.Ordinal);
        Assert.Contains("strata_dns_responses_limited_total{action=\"drop\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dig_AWwwShort_PrintsVip()
    {
        var output = await Dig.QueryAsync(node.Port, "www.foobar.com", "A", "+short");

        Assert.Equal("127.0.0.100", output.Trim());
    }

    [Fact]
    public async Task Dig_AWwwShortOverTcp_PrintsVip()
    {
        var output = await Dig.QueryAsync(node.Port, "www.foobar.com", "A", "+short", "+tcp");

        Assert.Equal("127.0.0.100", output.Trim());
    }

    [Fact]
    public async Task Dig_UnknownName_StatusNxDomainAuthoritative()
    {
        var output = await Dig.QueryAsync(node.Port, "nope.foobar.com", "A");

        Assert.Contains("status: NXDOMAIN", output, StringComparison.Ordinal);
        Assert.Matches(@"flags: [^;]*\baa\b", output);
        Assert.Contains("hostmaster.foobar.com.", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dig_NsForApex_ReturnsNs1AndGlue()
    {
        var output = await Dig.QueryAsync(node.Port, "foobar.com", "NS", "+norecurse");

        Assert.Contains("status: NOERROR", output, StringComparison.Ordinal);
        Assert.Matches(@"foobar\.com\.\s+60\s+IN\s+NS\s+ns1\.foobar\.com\.", output);
        Assert.Matches(@"ns1\.foobar\.com\.\s+60\s+IN\s+A\s+127\.0\.0\.1", output);
    }

    [Fact]
    public async Task Dig_SoaShortMixedCase_PrintsSoa()
    {
        var output = await Dig.QueryAsync(node.Port, "FooBar.COM", "SOA", "+short");

        // ARSoft compresses names case-insensitively, so the SOA's names point into the question's spelling.
        Assert.Equal("ns1.foobar.com. hostmaster.foobar.com. 1 3600 600 86400 60", output.Trim(), ignoreCase: true);
    }

    [Fact]
    public async Task Dig_AaaaForWww_NoData()
    {
        var output = await Dig.QueryAsync(node.Port, "www.foobar.com", "AAAA");

        Assert.Contains("status: NOERROR", output, StringComparison.Ordinal);
        Assert.Contains("ANSWER: 0", output, StringComparison.Ordinal);
        Assert.Contains("AUTHORITY: 1", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetReadyz_Started_Returns200()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        using var response = await http.GetAsync(new Uri(node.ManagementUrl, "/readyz"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("\"dns\"", body, StringComparison.Ordinal);
        Assert.Contains("\"ready\":true", body, StringComparison.Ordinal);
    }

    private static async Task<DnsMessage> ResolveAsync(IClientTransport transport, string name, RecordType type)
    {
        using var client = new DnsClient([IPAddress.Loopback], [transport], true, 5000);
        var response = await client.ResolveAsync(DomainName.Parse(name), type, RecordClass.INet, null, CancellationToken.None);
        Assert.NotNull(response);
        return response;
    }
}
