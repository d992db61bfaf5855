using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Strata.Cluster.Election;
using Strata.LoadBalancer;
using Strata.Proxy.Upstreams;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.LoadBalancer;

/// <summary>Real load balancer nodes in front of real Kestrel upstreams, all on loopback.</summary>
public sealed class LoadBalancerNodeTests : IAsyncLifetime
{
    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.Zero })
    {
        Timeout = TimeSpan.FromSeconds(5),
    };

    private readonly List<WebApplication> _nodes = [];
    private FakeUpstream _web1 = null!;
    private FakeUpstream _web2 = null!;
    private Strata.Topology.Topology _topology = null!;

    private Uri Vip => new($"http://{_topology.Vip}/");

    public async Task InitializeAsync()
    {
        _web1 = await FakeUpstream.StartAsync("web-1");
        _web2 = await FakeUpstream.StartAsync("web-2");
        _topology = TestTopology.Create(
            // Each load balancer on its own loopback address, as in the real topology: VRRP runs between them.
            loadBalancers:
            [
                TestTopology.Node("lb-1", NodeRole.LoadBalancer, new IPEndPoint(IPAddress.Parse("127.0.9.1"), 0)) with { Priority = 200 },
                TestTopology.Node("lb-2", NodeRole.LoadBalancer, new IPEndPoint(IPAddress.Parse("127.0.9.2"), 0)) with { Priority = 100 },
            ],
            webNodes: [TestTopology.Node("web-1", NodeRole.Web, _web1.Url), TestTopology.Node("web-2", NodeRole.Web, _web2.Url)]);
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await StopAsync(node);
        }

        await _web1.DisposeAsync();
        await _web2.DisposeAsync();
        _client.Dispose();
    }

    [Fact]
    public async Task Vip_TwoHealthyWebNodes_RoundRobinWithVia()
    {
        await StartAsync("lb-1");
        Assert.True(await Eventually.TrueAsync(async () => (await TryGetAsync(Vip)) is { IsSuccessStatusCode: true }), "the VIP never answered");

        var servedBy = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            using var response = await _client.GetAsync(new Uri(Vip, "/page"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("1.1 lb-1", Header(response, "Via"));
            Assert.Equal("1.1 lb-1", Header(response, "X-Seen-Via"));
            Assert.Equal("127.0.0.1", Header(response, "X-Seen-Forwarded-For"));
            servedBy.Add(Header(response, "X-Served-By"));
        }

        // Round robin: the two web nodes alternate.
        Assert.Equal(3, servedBy.Count(s => s == "web-1"));
        Assert.Equal(3, servedBy.Count(s => s == "web-2"));
        Assert.All(servedBy.Zip(servedBy.Skip(1)), pair => Assert.NotEqual(pair.First, pair.Second));
    }

    [Fact]
    public async Task Forward_ClientSuppliedForwardedFor_IsReplacedAtTheEdge()
    {
        var lb = await StartAsync("lb-1");
        var address = Address(lb);
        Assert.True(await Eventually.TrueAsync(async () => (await TryGetAsync(new Uri(address, "/readyz"))) is { IsSuccessStatusCode: true }));

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(address, "/x"));
        request.Headers.Add("X-Forwarded-For", "6.6.6.6");
        using var response = await _client.SendAsync(request);

        Assert.Equal("127.0.0.1", Header(response, "X-Seen-Forwarded-For"));
    }

    [Theory]
    [InlineData(true, "GET", false)]   // the VIP's connection path
    [InlineData(false, "GET", false)]  // Kestrel, then Strata's HTTP/1.1 forwarder
    [InlineData(false, "POST", false)] // Kestrel, then YARP
    [InlineData(true, "GET", true)]
    [InlineData(false, "GET", true)]
    [InlineData(false, "POST", true)]
    public async Task Forward_ClientAddressHeaders_RemovedAtTheEdgeUnlessThePeerIsTrusted(bool throughVip, string method, bool trusted)
    {
        if (trusted)
        {
            _topology = _topology with { TrustedProxies = [IPNetwork.Parse("127.0.0.0/8")] };
        }

        var lb = await StartAsync("lb-1");
        var address = throughVip ? Vip : Address(lb);
        Assert.True(await Eventually.TrueAsync(async () => (await TryGetAsync(new Uri(address, "/ready"))) is { IsSuccessStatusCode: true }), "the load balancer never answered");

        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(address, "/x"));
        foreach (var name in Strata.Topology.EdgeHeaders.ClientAddress)
        {
            request.Headers.TryAddWithoutValidation(name, "6.6.6.6");
        }

        request.Headers.Add("X-Other", "kept");
        if (method == "POST")
        {
            request.Content = new StringContent("body");
        }

        using var response = await _client.SendAsync(request);
        var seen = (Header(response, "X-Served-By") == "web-1" ? _web1 : _web2).LastHeaders!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("kept", seen["X-Other"].ToString());
        Assert.All(Strata.Topology.EdgeHeaders.ClientAddress, name => Assert.Equal(trusted ? "6.6.6.6" : "", seen[name].ToString()));
    }

    [Fact]
    public async Task Forward_WebNodeFailsChecks_TakenOutOfRotation()
    {
        var lb = await StartAsync("lb-1");
        var address = Address(lb);
        Assert.True(await Eventually.TrueAsync(async () => await ReadyDetailAsync(address) == "2 of 2 web nodes healthy"));

        _web2.Ready = false;
        Assert.True(await Eventually.TrueAsync(async () => await ReadyDetailAsync(address) == "1 of 2 web nodes healthy"));

        for (var i = 0; i < 4; i++)
        {
            using var response = await _client.GetAsync(new Uri(address, "/x"));
            Assert.Equal("web-1", Header(response, "X-Served-By"));
        }
    }

    [Fact]
    public async Task Forward_NoHealthyWebNode_503WithRetryAfterAndNotReady()
    {
        _web1.Ready = false;
        _web2.Ready = false;
        var lb = await StartAsync("lb-1");
        var address = Address(lb);

        using var readiness = await _client.GetAsync(new Uri(address, "/readyz"));
        using var response = await _client.GetAsync(new Uri(address, "/x"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, readiness.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("1", Header(response, "Retry-After"));
        Assert.Equal("lb-1", Header(response, "X-Served-By"));
        Assert.Equal("503 Service Unavailable: no web server is available\n", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Election_MasterStops_BackupTakesTheVip()
    {
        var lb1 = await StartAsync("lb-1");
        Assert.True(await Eventually.TrueAsync(async () => await VipStateAsync(lb1) == "master"), "lb-1 never became master");
        var lb2 = await StartAsync("lb-2");
        Assert.True(await Eventually.TrueAsync(async () => (await TryGetAsync(new Uri(Address(lb2), "/vip"))) is not null));
        Assert.Equal("backup", await VipStateAsync(lb2));
        Assert.True(
            await Eventually.TrueAsync(async () => await TryGetAsync(Vip) is { StatusCode: HttpStatusCode.OK } r && Header(r, "Via") == "1.1 lb-1"),
            "lb-1 did not serve the VIP");

        await StopAsync(lb1);
        _nodes.Remove(lb1);

        Assert.True(await Eventually.TrueAsync(async () => await VipStateAsync(lb2) == "master"), "lb-2 never took the VIP");
        Assert.True(
            await Eventually.TrueAsync(async () => await TryGetAsync(new Uri(Vip, "/after")) is { StatusCode: HttpStatusCode.OK } r && Header(r, "Via") == "1.1 lb-2"),
            "lb-2 did not answer on the VIP");
    }

    [Fact]
    public async Task RateLimit_SharedWithThePeer_AClientOverItsLimitIsStillLimitedAfterTheFailover()
    {
        // 1 request/s with a burst of 5 through the VIP: 127.0.0.61 spends its budget on lb-1, which then stops.
        _topology = _topology with
        {
            LoadBalancerRoutes = [new RouteSpec("limited", new RouteMatchSpec([], ["/limited/"], [], []), "web", [new RateLimitRule(1, 5)], [])],
        };
        var lb1 = await StartAsync("lb-1");
        Assert.True(await Eventually.TrueAsync(async () => await VipStateAsync(lb1) == "master"), "lb-1 never became master");
        var lb2 = await StartAsync("lb-2");
        Assert.True(await Eventually.TrueAsync(async () => await TryGetAsync(new Uri(Address(lb2), "/vip")) is not null));
        var before = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            before.Add(RawHttp.Status(await RawHttp.GetAsync(IPAddress.Parse("127.0.0.61"), _topology.Vip, "/limited/x")));
        }

        Assert.Contains("429", before);
        await StopAsync(lb1);
        _nodes.Remove(lb1);
        Assert.True(await Eventually.TrueAsync(async () => await ListeningAsync(lb2)), "lb-2 never took the VIP");

        // On lb-2 the client has what lb-1 left it (plus what refilled meanwhile), not a fresh burst of 5; another address has its own.
        var after = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            after.Add(RawHttp.Status(await RawHttp.GetAsync(IPAddress.Parse("127.0.0.61"), _topology.Vip, "/limited/x")));
        }

        var other = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            other.Add(RawHttp.Status(await RawHttp.GetAsync(IPAddress.Parse("127.0.0.62"), _topology.Vip, "/limited/x")));
        }

        Assert.True(after.Count(s => s == "429") >= 2, $"after the failover: {string.Join(",", after)} (before: {string.Join(",", before)})");
        Assert.Equal(["200", "200", "200", "200", "200"], other);
    }

    [Fact]
    public async Task Election_MasterCannotServe_LowersPriorityAndTheBackupTakesOver()
    {
        var lb1 = await StartAsync("lb-1");
        var lb2 = await StartAsync("lb-2");
        Assert.True(await Eventually.TrueAsync(async () => await VipStateAsync(lb1) == "master" && await VipStateAsync(lb2) == "backup"));

        // lb-1 alone loses its web servers (an operator put them in maintenance there): it cannot serve.
        foreach (var server in lb1.Services.GetRequiredService<UpstreamPool>().Members)
        {
            server.AdminState = AdminState.Maintenance;
        }

        Assert.True(await Eventually.TrueAsync(async () => await VipStateAsync(lb2) == "master"), "lb-2 did not take over");
        Assert.Equal("backup", await VipStateAsync(lb1));
        Assert.True(
            await Eventually.TrueAsync(async () => await TryGetAsync(new Uri(Vip, "/served")) is { } r && Header(r, "Via") == "1.1 lb-2"),
            "lb-2 did not answer on the VIP");

        // Back in service: lb-1's priority is restored and, with preemption, it takes the VIP back.
        foreach (var server in lb1.Services.GetRequiredService<UpstreamPool>().Members)
        {
            server.AdminState = AdminState.Ready;
        }

        Assert.True(await Eventually.TrueAsync(async () => await VipStateAsync(lb1) == "master"), "lb-1 did not take the VIP back");
    }

    [Fact]
    public async Task ActiveActive_BothListen_NewConnectionsSpreadAndSurviveOneStopping()
    {
        _topology = _topology with { Vrrp = _topology.Vrrp with { ActiveActive = true } };
        var lb1 = await StartAsync("lb-1");
        var lb2 = await StartAsync("lb-2");
        Assert.True(await Eventually.TrueAsync(async () => await ListeningAsync(lb1) && await ListeningAsync(lb2)), "both should listen on the VIP");

        // Every request on a new connection: the kernel picks a listener by the connection's hash.
        var via = new HashSet<string>();
        for (var i = 0; i < 60 && via.Count < 2; i++)
        {
            using var response = await _client.GetAsync(new Uri(Vip, "/spread"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            via.Add(Header(response, "Via"));
        }

        Assert.Equal(["1.1 lb-1", "1.1 lb-2"], via.Order());
        await StopAsync(lb1);
        _nodes.Remove(lb1);
        for (var i = 0; i < 10; i++)
        {
            using var response = await _client.GetAsync(new Uri(Vip, "/after"));
            Assert.Equal("1.1 lb-2", Header(response, "Via"));
        }
    }

    [Fact]
    public async Task Metrics_Election_ExportsStatePriorityAndTransitions()
    {
        var lb1 = await StartAsync("lb-1");
        Assert.True(await Eventually.TrueAsync(async () => await ListeningAsync(lb1)));

        var metrics = await _client.GetStringAsync(new Uri(Address(lb1), "/metrics"));

        Assert.Contains("strata_vrrp_master{node=\"lb-1\",tier=\"lb\"} 1", metrics);
        Assert.Contains("strata_vrrp_listening{node=\"lb-1\",tier=\"lb\"} 1", metrics);
        Assert.Contains("strata_vrrp_transitions_total{to=\"master\",node=\"lb-1\",tier=\"lb\"} 1", metrics);
        Assert.Matches("strata_vrrp_priority\\{node=\"lb-1\",tier=\"lb\"\\} (200|50)\n", metrics);
    }

    [Fact]
    public async Task Election_StateChanges_RunTheNotifyCommand()
    {
        var dir = Directory.CreateTempSubdirectory("strata-notify-").FullName;
        try
        {
            var script = Path.Combine(dir, "notify.sh");
            var log = Path.Combine(dir, "notify.log");
            await File.WriteAllTextAsync(script, $"#!/bin/sh\necho \"$@\" >> {log}\n");
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            _topology = _topology with { Vrrp = _topology.Vrrp with { NotifyCommand = script } };

            var lb1 = await StartAsync("lb-1");
            Assert.True(await Eventually.TrueAsync(() => Task.FromResult(File.Exists(log) && File.ReadAllText(log).Contains("MASTER"))), "no MASTER notification");
            await StopAsync(lb1);
            _nodes.Remove(lb1);

            Assert.True(await Eventually.TrueAsync(() => Task.FromResult(File.ReadAllText(log).Contains("STOPPED"))), "no STOPPED notification");
            Assert.Equal(
                ["BACKUP lb-1", "MASTER lb-1", "STOPPED lb-1"],
                File.ReadAllLines(log).Select(l => string.Join(' ', l.Split(' ').Take(2))));
            Assert.StartsWith($"MASTER lb-1 {_topology.Vip} ", File.ReadAllLines(log)[1]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Election_AdvertFromAStranger_DroppedAndCounted()
    {
        var lb1 = await StartAsync("lb-1");
        Assert.True(await Eventually.TrueAsync(async () => await VipStateAsync(lb1) == "master"));
        var election = lb1.Services.GetServices<IHostedService>().OfType<VrrpElection>().Single();

        // A well-formed advert with the highest priority, from an address that is not a load balancer.
        using var stranger = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        stranger.Bind(new IPEndPoint(IPAddress.Parse("127.0.9.77"), 0));
        var advert = new byte[] { 0x31, (byte)_topology.Vrrp.RouterId, 254, 1, 0x00, 10, 0, 0, 127, 0, 0, 1 };
        for (var i = 0; i < 5; i++)
        {
            await stranger.SendToAsync(advert, new IPEndPoint(IPAddress.Parse("127.0.9.1"), _topology.Vrrp.Port));
        }

        Assert.True(await Eventually.TrueAsync(() => Task.FromResult(election.DroppedAdvertisements == 5)), $"dropped {election.DroppedAdvertisements}");
        await Task.Delay(500);
        Assert.Equal("master", await VipStateAsync(lb1));
    }

    private async Task<bool> ListeningAsync(WebApplication node)
    {
        var body = await _client.GetFromJsonAsync<JsonElement>(new Uri(Address(node), LoadBalancerNode.VipPath));
        return body.GetProperty("listening").GetBoolean();
    }

    private async Task<WebApplication> StartAsync(string name)
    {
        var node = LoadBalancerNode.Build(_topology, _topology.FindNode(name)!);
        await node.StartAsync();
        _nodes.Add(node);
        return node;
    }

    private static async Task StopAsync(WebApplication node)
    {
        await node.StopAsync();
        await node.DisposeAsync();
    }

    private static Uri Address(WebApplication node) => new(node.Urls.First());

    private async Task<HttpResponseMessage?> TryGetAsync(Uri uri)
    {
        try
        {
            return await _client.GetAsync(uri);
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private async Task<string?> VipStateAsync(WebApplication node)
    {
        var body = await _client.GetFromJsonAsync<JsonElement>(new Uri(Address(node), LoadBalancerNode.VipPath));
        return body.GetProperty("state").GetString();
    }

    private async Task<string?> ReadyDetailAsync(Uri address)
    {
        using var response = await _client.GetAsync(new Uri(address, "/readyz"));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return body.GetProperty("checks").GetProperty("upstreams").GetProperty("detail").GetString();
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(", ", values) : "";
}
