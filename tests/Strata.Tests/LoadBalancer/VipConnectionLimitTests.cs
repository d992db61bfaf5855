using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Strata.Cluster.Election;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.LoadBalancer;

/// <summary>
/// The VIP's connection limits (vip.maxConnections, vip.maxConnectionsPerClient) on a real load balancer: a client
/// holding its share of idle connections gets 429 on the next one while another address is served; a VIP holding its
/// maximum answers 503 to any new one and serves again once connections close; both counted in /metrics.
/// </summary>
public sealed class VipConnectionLimitTests : IAsyncLifetime
{
    private const int Max = 6;
    private const int PerClient = 3;

    private readonly List<Socket> _held = [];
    private FakeUpstream _web = null!;
    private WebApplication _lb = null!;
    private IPEndPoint _vip = null!;

    public async Task InitializeAsync()
    {
        _web = await FakeUpstream.StartAsync("web-1");
        var lb = TestTopology.Node("lb-1", NodeRole.LoadBalancer);
        var topology = TestTopology.Create(loadBalancers: [lb], webNodes: [TestTopology.Node("web-1", NodeRole.Web, _web.Url)]) with
        {
            VipConnections = new ConnectionLimitSpec(Max, PerClient),
        };
        _vip = topology.Vip;
        _lb = Strata.LoadBalancer.LoadBalancerNode.Build(topology, lb);
        await _lb.StartAsync();
        Assert.True(await Eventually.TrueAsync(() => Task.FromResult(_lb.Services.GetRequiredService<VipStatus>().HoldsVip)), "the load balancer never took the VIP");
        Assert.True(await Eventually.TrueAsync(async () => (await GetAsync("127.0.0.40")).StartsWith("HTTP/1.1 200")), "the web server never came up");
    }

    public async Task DisposeAsync()
    {
        foreach (var socket in _held)
        {
            socket.Dispose();
        }

        await _lb.StopAsync();
        await _lb.DisposeAsync();
        await _web.DisposeAsync();
    }

    [Fact]
    public async Task PerClient_TheNextConnectionGets429_AnotherAddressIsServed()
    {
        await HoldAsync("127.0.0.41", PerClient);

        var refused = await GetAsync("127.0.0.41");
        var other = await GetAsync("127.0.0.42");

        Assert.StartsWith("HTTP/1.1 429", refused);
        Assert.Contains("\r\nRetry-After: 1\r\n", refused);
        Assert.StartsWith("HTTP/1.1 200", other);
        Assert.Contains("strata_vip_connections_refused_total{reason=\"per_client\",node=\"lb-1\",tier=\"lb\"} 1", await MetricsAsync());
    }

    [Fact]
    public async Task Full_NewConnectionsGet503_ServedAgainOnceSomeClose()
    {
        await HoldAsync("127.0.0.43", PerClient);
        await HoldAsync("127.0.0.44", PerClient);

        var refused = await GetAsync("127.0.0.45");
        Assert.StartsWith("HTTP/1.1 503", refused);
        Assert.Contains("\r\nRetry-After: 1\r\n", refused);
        Assert.Contains("strata_vip_connections{node=\"lb-1\",tier=\"lb\"} 6", await MetricsAsync());

        _held[0].Dispose();
        _held.RemoveAt(0);
        Assert.True(await Eventually.TrueAsync(async () => (await GetAsync("127.0.0.45")).StartsWith("HTTP/1.1 200")), "no room after a connection closed");
        Assert.Contains("strata_vip_connections_refused_total{reason=\"max\",node=\"lb-1\",tier=\"lb\"} 1", await MetricsAsync());
    }

    /// <summary>Opens <paramref name="count"/> idle connections from <paramref name="source"/>, each known to the load balancer.</summary>
    private async Task HoldAsync(string source, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var socket = await ConnectAsync(source);
            _held.Add(socket);
            // A request answered on it: the connection is counted before the next one opens.
            await socket.SendAsync(Encoding.ASCII.GetBytes("GET /held HTTP/1.1\r\nHost: www.foobar.com\r\n\r\n"));
            var buffer = new byte[4096];
            Assert.True(await socket.ReceiveAsync(buffer) > 0);
        }
    }

    private Task<Socket> ConnectAsync(string source) => RawHttp.ConnectAsync(IPAddress.Parse(source), _vip);

    private Task<string> GetAsync(string source) => RawHttp.GetAsync(IPAddress.Parse(source), _vip, "/page");

    private async Task<string> MetricsAsync()
    {
        using var client = new HttpClient();
        return await client.GetStringAsync(new Uri(_lb.Urls.First() + "/metrics"));
    }
}
