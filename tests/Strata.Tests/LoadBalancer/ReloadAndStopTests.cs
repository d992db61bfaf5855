using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Strata.LoadBalancer;
using Strata.Proxy.Upstreams;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.LoadBalancer;

/// <summary>A changed topology file applies to a running load balancer without losing requests; SIGTERM-style stop drains.</summary>
public sealed class ReloadAndStopTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("strata-reload-").FullName;
    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(15) };
    private FakeUpstream _web1 = null!;
    private FakeUpstream _web2 = null!;
    private WebApplication _lb = null!;
    private Uri _address = null!;
    private string _path = null!;

    private UpstreamPool Pool => _lb.Services.GetRequiredService<UpstreamPool>();

    public async Task InitializeAsync()
    {
        _web1 = await FakeUpstream.StartAsync("web-1");
        _web2 = await FakeUpstream.StartAsync("web-2");
        _path = WriteTopology(("web-1", _web1, 1));
        var lbNode = TestTopology.Node("lb-1", NodeRole.LoadBalancer);
        var topology = TopologyLoader.Load(_path) with { LoadBalancers = [lbNode] };
        _lb = LoadBalancerNode.Build(topology, lbNode);
        await _lb.StartAsync();
        _address = new Uri(_lb.Urls.First());
        Assert.True(await Eventually.TrueAsync(() => Task.FromResult(Pool.HealthyCount == 1)), "web-1 never came up");
    }

    public async Task DisposeAsync()
    {
        await _lb.StopAsync();
        await _lb.DisposeAsync();
        await _web1.DisposeAsync();
        await _web2.DisposeAsync();
        _client.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Reload_ServerAddedAndWeightChanged_AppliedWithoutLosingTheRequestInFlight()
    {
        var release = new TaskCompletionSource();
        _web1.Behavior = context => context.Request.Path == "/slow" ? release.Task : Task.CompletedTask;
        var inFlight = _client.GetAsync(new Uri(_address, "/slow"));
        Assert.True(await Eventually.TrueAsync(() => Task.FromResult(_web1.Requests == 1)));

        WriteTopology(("web-1", _web1, 3), ("web-2", _web2, 1));

        Assert.True(await Eventually.TrueAsync(() => Task.FromResult(Pool.Members.Length == 2 && Pool.HealthyCount == 2)), "the reload did not add web-2");
        var web1 = Pool.Find("web-1")!;
        Assert.Equal(3, web1.Weight);
        Assert.Equal(1, web1.ActiveRequests);
        release.SetResult();
        using var response = await inFlight;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, web1.ActiveRequests);

        var servedBy = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            using var next = await _client.GetAsync(new Uri(_address, "/"));
            servedBy.Add(string.Join(",", next.Headers.GetValues("X-Served-By")));
        }

        Assert.Equal(6, servedBy.Count(s => s == "web-1"));
        Assert.Equal(2, servedBy.Count(s => s == "web-2"));
    }

    [Fact]
    public async Task Reload_InvalidFile_RefusedAndTheNodeRunsAsBefore()
    {
        File.WriteAllText(_path, "{ \"vip\": ");
        await Task.Delay(TimeSpan.FromSeconds(1));

        using var response = await _client.GetAsync(new Uri(_address, "/"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("web-1", Assert.Single(Pool.Members).Name);
    }

    [Fact]
    public async Task Stop_RequestInFlight_FinishesBeforeTheNodeExits()
    {
        var release = new TaskCompletionSource();
        _web1.Behavior = _ => release.Task;
        var inFlight = _client.GetAsync(new Uri(_address, "/slow"));
        Assert.True(await Eventually.TrueAsync(() => Task.FromResult(_web1.Requests == 1)));

        var stopping = _lb.StopAsync();
        await Task.Delay(300);
        Assert.False(stopping.IsCompleted);
        release.SetResult();

        using var response = await inFlight;
        await stopping.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await Assert.ThrowsAsync<HttpRequestException>(() => _client.GetAsync(new Uri(_address, "/after")));
    }

    private string WriteTopology(params (string Name, FakeUpstream Server, int Weight)[] webNodes)
    {
        var json = TestTopology.DefaultJson();
        json["web"]!["nodes"] = new JsonArray([.. webNodes.Select(w => (JsonNode)new JsonObject
        {
            ["name"] = w.Name,
            ["address"] = $"{w.Server.Url.Host}:{w.Server.Url.Port}",
            ["weight"] = w.Weight,
        })]);
        json["web"]!["healthCheck"] = new JsonObject { ["intervalMs"] = 200, ["fastIntervalMs"] = 100, ["rise"] = 1 };
        return TestTopology.Write(json, _dir);
    }
}
