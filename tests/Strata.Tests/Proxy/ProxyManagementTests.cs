using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Strata.LoadBalancer;
using Strata.Tests.Common;
using Strata.Topology;
using Strata.Web;

namespace Strata.Tests.Proxy;

/// <summary>/metrics, /stats and the admin API of a real load balancer node in front of two real Kestrel upstreams.</summary>
public sealed class ProxyManagementTests : IAsyncLifetime
{
    private const string Token = "test-admin-token-0123456789";

    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.Zero })
    {
        Timeout = TimeSpan.FromSeconds(5),
    };

    private readonly List<WebApplication> _nodes = [];
    private FakeUpstream _web1 = null!;
    private FakeUpstream _web2 = null!;
    private Strata.Topology.Topology _topology = null!;

    public async Task InitializeAsync()
    {
        _web1 = await FakeUpstream.StartAsync("web-1");
        _web2 = await FakeUpstream.StartAsync("web-2");
        _topology = TestTopology.Create(
            loadBalancers: [TestTopology.Node("lb-1", NodeRole.LoadBalancer)],
            webNodes: [TestTopology.Node("web-1", NodeRole.Web, _web1.Url), TestTopology.Node("web-2", NodeRole.Web, _web2.Url)]) with
        {
            AdminToken = Token,
        };
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.StopAsync();
            await node.DisposeAsync();
        }

        await _web1.DisposeAsync();
        await _web2.DisposeAsync();
        _client.Dispose();
    }

    [Fact]
    public async Task Metrics_AfterTraffic_RequestCounterAndServerGauges()
    {
        var lb = await StartHealthyAsync();
        for (var i = 0; i < 4; i++)
        {
            using var response = await _client.GetAsync(new Uri(lb, "/page"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var metrics = await _client.GetAsync(new Uri(lb, "/metrics"));
        var text = await metrics.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.StartsWith("text/plain", metrics.Content.Headers.ContentType?.MediaType);
        Assert.Contains("strata_requests_total{backend=\"web\",node=\"lb-1\",tier=\"lb\"} 4", text);
        Assert.Contains("strata_responses_total{backend=\"web\",code=\"2xx\",node=\"lb-1\",tier=\"lb\"} 4", text);
        Assert.Contains("strata_responses_total{backend=\"web\",code=\"5xx\",node=\"lb-1\",tier=\"lb\"} 0", text);
        Assert.Contains("strata_server_up{backend=\"web\",server=\"web-1\",node=\"lb-1\",tier=\"lb\"} 1", text);
        Assert.Contains("strata_server_up{backend=\"web\",server=\"web-2\",node=\"lb-1\",tier=\"lb\"} 1", text);
        Assert.Contains("strata_server_weight{backend=\"web\",server=\"web-1\",node=\"lb-1\",tier=\"lb\"} 1", text);
        Assert.Contains("strata_server_admin_state{backend=\"web\",server=\"web-1\",state=\"ready\",node=\"lb-1\",tier=\"lb\"} 1", text);
        Assert.Contains("strata_server_active_requests{backend=\"web\",server=\"web-2\",node=\"lb-1\",tier=\"lb\"} 0", text);
        Assert.Contains("strata_server_requests_total{backend=\"web\",server=\"web-1\",node=\"lb-1\",tier=\"lb\"} 2", text);
        Assert.Contains("strata_backend_queue_length{backend=\"web\",node=\"lb-1\",tier=\"lb\"} 0", text);
        Assert.Contains("strata_retries_total{backend=\"web\",server=\"web-1\",node=\"lb-1\",tier=\"lb\"} 0", text);
        Assert.Contains("strata_health_transitions_total{backend=\"web\",server=\"web-2\",to=\"up\",node=\"lb-1\",tier=\"lb\"} 1", text);
        Assert.Contains("strata_request_duration_seconds_count{backend=\"web\",node=\"lb-1\",tier=\"lb\"} 4", text);
        Assert.Contains("strata_http_requests_total{code=\"2xx\",node=\"lb-1\",tier=\"lb\"} 4", text);
    }

    [Fact]
    public async Task Metrics_ServerGoesDown_GaugeAndTransitionCounted()
    {
        var lb = await StartHealthyAsync();

        _web2.Ready = false;

        Assert.True(await Eventually.TrueAsync(async () =>
            (await _client.GetStringAsync(new Uri(lb, "/metrics"))).Contains("strata_server_up{backend=\"web\",server=\"web-2\",node=\"lb-1\",tier=\"lb\"} 0")));
        var text = await _client.GetStringAsync(new Uri(lb, "/metrics"));
        Assert.Contains("strata_health_transitions_total{backend=\"web\",server=\"web-2\",to=\"down\",node=\"lb-1\",tier=\"lb\"} 1", text);
    }

    [Fact]
    public async Task Stats_Html_ListsServersEncoded()
    {
        _topology = _topology with
        {
            WebNodes = [TestTopology.Node("web-1", NodeRole.Web, _web1.Url), TestTopology.Node("web-<2>&", NodeRole.Web, _web2.Url)],
        };
        var lb = await StartAsync();

        using var response = await _client.GetAsync(new Uri(lb, "/stats"));
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<td>web-1</td>", html);
        Assert.Contains("<td>web-&lt;2&gt;&amp;</td>", html);
        Assert.DoesNotContain("web-<2>", html);
        Assert.Contains("backend web: algorithm round-robin", html);
    }

    [Fact]
    public async Task StatsJson_TwoHealthyServers_ReportsBackendAndServers()
    {
        var lb = await StartHealthyAsync();
        using (await _client.GetAsync(new Uri(lb, "/page")))
        {
        }

        var stats = await _client.GetFromJsonAsync<JsonElement>(new Uri(lb, "/stats?format=json"));

        Assert.Equal("lb-1", stats.GetProperty("node").GetString());
        var backend = stats.GetProperty("backends")[0];
        Assert.Equal("web", backend.GetProperty("name").GetString());
        Assert.Equal("round-robin", backend.GetProperty("algorithm").GetString());
        Assert.Equal(0, backend.GetProperty("queueLength").GetInt32());
        Assert.Equal(2, backend.GetProperty("healthy").GetInt32());
        var servers = backend.GetProperty("servers").EnumerateArray().ToList();
        Assert.Equal(["web-1", "web-2"], servers.Select(s => s.GetProperty("name").GetString()));
        Assert.All(servers, s => Assert.Equal("UP", s.GetProperty("state").GetString()));
        Assert.All(servers, s => Assert.Equal(1, s.GetProperty("weight").GetInt32()));
        Assert.Equal(1, servers.Sum(s => s.GetProperty("totalRequests").GetInt64()));
        Assert.Equal(0, servers.Sum(s => s.GetProperty("totalFailures").GetInt64()));
        Assert.True(servers[0].GetProperty("lastCheck").GetProperty("passed").GetBoolean());
        Assert.True(servers[0].GetProperty("lastCheck").GetProperty("ageSeconds").GetDouble() >= 0);
        // No vip.tls: no certificates to report.
        Assert.False(stats.TryGetProperty("certificates", out _));
    }

    [Fact]
    public async Task StatsJson_AfterTraffic_RatesPerServerAndOfTheAnswers()
    {
        var lb = await StartHealthyAsync();
        // web-2 fails /fail: a failure on it for the load balancer, and the client's answer is a 5xx once every try failed.
        foreach (var upstream in new[] { _web1, _web2 })
        {
            upstream.Behavior = context =>
            {
                context.Response.StatusCode = context.Request.Path == "/fail" || upstream == _web2 ? 500 : 200;
                return Task.CompletedTask;
            };
        }

        foreach (var path in new[] { "/page", "/page", "/page", "/page", "/fail", "/fail" })
        {
            using (await _client.GetAsync(new Uri(lb, path)))
            {
            }
        }

        var stats = await _client.GetFromJsonAsync<JsonElement>(new Uri(lb, "/stats?format=json"));
        var servers = stats.GetProperty("backends")[0].GetProperty("servers").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!);

        Assert.True(stats.GetProperty("requestsPerSecond").GetDouble() > 0, stats.ToString());
        Assert.True(stats.GetProperty("serverErrorsPerSecond").GetDouble() > 0, stats.ToString());
        Assert.True(servers["web-1"].GetProperty("requestsPerSecond").GetDouble() > 0, stats.ToString());
        Assert.True(servers["web-2"].GetProperty("requestsPerSecond").GetDouble() > 0, stats.ToString());
        Assert.True(servers["web-2"].GetProperty("failuresPerSecond").GetDouble() > 0, stats.ToString());
        Assert.Contains("requests/s", await _client.GetStringAsync(new Uri(lb, "/stats")));
    }

    [Fact]
    public async Task Admin_NoToken_401WithBearerChallenge()
    {
        var lb = await StartAsync();

        using var response = await _client.GetAsync(new Uri(lb, "/admin/servers"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.ToString());
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Admin_WrongToken_401AndNothingChanged()
    {
        var lb = await StartAsync();

        using var response = await SendAsync(HttpMethod.Post, new Uri(lb, "/admin/servers/web-2/drain"), token: "wrong-token-0123456789");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.NotEqual("DRAIN", await StateAsync(lb, "web-2"));
    }

    [Fact]
    public async Task Admin_NoTokenConfigured_404ApiOff()
    {
        _topology = _topology with { AdminToken = null };
        var lb = await StartAsync();

        using var list = await SendAsync(HttpMethod.Get, new Uri(lb, "/admin/servers"));
        using var drain = await SendAsync(HttpMethod.Post, new Uri(lb, "/admin/servers/web-2/drain"));

        Assert.Equal(HttpStatusCode.NotFound, list.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, drain.StatusCode);
        Assert.Contains("admin API is off", await drain.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Admin_ListServers_SameDataAsStats()
    {
        var lb = await StartHealthyAsync();

        using var response = await SendAsync(HttpMethod.Get, new Uri(lb, "/admin/servers"));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, body.GetProperty("backends")[0].GetProperty("servers").GetArrayLength());
    }

    [Fact]
    public async Task Drain_OneServer_NoNewRequestsThereWhileTheOtherServes()
    {
        var lb = await StartHealthyAsync();

        using var drain = await SendAsync(HttpMethod.Post, new Uri(lb, "/admin/servers/web-2/drain"));
        var before = _web2.Requests;
        var servedBy = await ServedByAsync(lb, 6);

        Assert.Equal(HttpStatusCode.OK, drain.StatusCode);
        Assert.Equal("DRAIN", (await drain.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString());
        Assert.All(servedBy, s => Assert.Equal("web-1", s));
        Assert.Equal(before, _web2.Requests);
        Assert.Equal("DRAIN", await StateAsync(lb, "web-2"));
    }

    [Fact]
    public async Task MaintenanceThenReady_ServerOutThenBack()
    {
        var lb = await StartHealthyAsync();

        using (var maintenance = await SendAsync(HttpMethod.Post, new Uri(lb, "/admin/servers/web-1/maintenance")))
        {
            Assert.Equal(HttpStatusCode.OK, maintenance.StatusCode);
        }

        Assert.Equal("MAINT", await StateAsync(lb, "web-1"));
        Assert.All(await ServedByAsync(lb, 4), s => Assert.Equal("web-2", s));

        using (var ready = await SendAsync(HttpMethod.Post, new Uri(lb, "/admin/servers/web-1/ready")))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.Equal("UP", (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString());
        }

        Assert.Equal(["web-1", "web-2"], (await ServedByAsync(lb, 4)).Distinct().Order());
    }

    [Fact]
    public async Task Weight_Zero_NoNewTraffic()
    {
        var lb = await StartHealthyAsync();

        using var response = await SendAsync(HttpMethod.Put, new Uri(lb, "/admin/servers/web-1/weight"), """{"weight": 0}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("weight").GetInt32());
        Assert.All(await ServedByAsync(lb, 4), s => Assert.Equal("web-2", s));
    }

    [Theory]
    [InlineData("""{"weight": 300}""", "weight: must be a whole number from 0 to 256, got 300")]
    [InlineData("""{"weight": -1}""", "weight: must be a whole number from 0 to 256, got -1")]
    [InlineData("""{"weight": "ten"}""", "weight: must be a whole number from 0 to 256, got \"ten\"")]
    [InlineData("""{"weight": 1.5}""", "weight: must be a whole number from 0 to 256, got 1.5")]
    [InlineData("""{"w": 1}""", "the body must be a JSON object with a \"weight\" field, e.g. {\"weight\": 10}")]
    public async Task Weight_Invalid_400ProblemNamingTheField(string body, string detail)
    {
        var lb = await StartAsync();

        using var response = await SendAsync(HttpMethod.Put, new Uri(lb, "/admin/servers/web-1/weight"), body);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(detail, problem.GetProperty("detail").GetString());
        Assert.Equal(1, (await StatsServerAsync(lb, "web-1")).GetProperty("weight").GetInt32());
    }

    [Fact]
    public async Task Admin_UnknownServer_404Problem()
    {
        var lb = await StartAsync();

        using var response = await SendAsync(HttpMethod.Post, new Uri(lb, "/admin/servers/web-9/drain"));
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no server named 'web-9' in backend web; the servers are: web-1, web-2", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task WebNode_ManagementRoutes_AnswerBesideStaticFilesAndForwarding()
    {
        var root = Directory.CreateTempSubdirectory("strata-wwwroot-").FullName;
        await using var app1 = await FakeUpstream.StartAsync("app-1");
        await using var app2 = await FakeUpstream.StartAsync("app-2");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(root, "index.txt"), "static");
            var topology = TestTopology.Create(
                webNodes: [TestTopology.Node("web-1", NodeRole.Web)],
                appNodes: [TestTopology.Node("app-1", NodeRole.App, app1.Url), TestTopology.Node("app-2", NodeRole.App, app2.Url)],
                webRoot: root) with
            {
                AdminToken = Token,
            };
            var web = WebNode.Build(topology, topology.FindNode("web-1")!);
            await web.StartAsync();
            _nodes.Add(web);
            var address = new Uri(web.Urls.First());

            Assert.Equal("static", await _client.GetStringAsync(new Uri(address, "/index.txt")));
            Assert.Contains("strata_server_up{backend=\"app\",server=\"app-1\",node=\"web-1\",tier=\"web\"}", await _client.GetStringAsync(new Uri(address, "/metrics")));
            Assert.Contains("<td>app-2</td>", await _client.GetStringAsync(new Uri(address, "/stats")));
            using var drain = await SendAsync(HttpMethod.Post, new Uri(address, "/admin/servers/app-1/drain"));
            Assert.Equal(HttpStatusCode.OK, drain.StatusCode);
            Assert.True(await Eventually.TrueAsync(async () =>
            {
                using var response = await _client.GetAsync(new Uri(address, "/dynamic"));
                return response.IsSuccessStatusCode;
            }));
            Assert.All(await ServedByAsync(address, 4), s => Assert.Equal("app-2", s));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private async Task<Uri> StartAsync()
    {
        var node = LoadBalancerNode.Build(_topology, _topology.FindNode("lb-1")!);
        await node.StartAsync();
        _nodes.Add(node);
        return new Uri(node.Urls.First());
    }

    private async Task<Uri> StartHealthyAsync()
    {
        var lb = await StartAsync();
        Assert.True(
            await Eventually.TrueAsync(async () =>
                (await _client.GetFromJsonAsync<JsonElement>(new Uri(lb, "/stats?format=json"))).GetProperty("backends")[0].GetProperty("healthy").GetInt32() == 2),
            "the web nodes never both came up");
        return lb;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri uri, string? json = null, string token = Token)
    {
        using var request = new HttpRequestMessage(method, uri);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        return await _client.SendAsync(request);
    }

    private async Task<List<string>> ServedByAsync(Uri lb, int count)
    {
        var servedBy = new List<string>();
        for (var i = 0; i < count; i++)
        {
            using var response = await _client.GetAsync(new Uri(lb, "/page"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            servedBy.Add(response.Headers.GetValues("X-Served-By").Single());
        }

        return servedBy;
    }

    private async Task<JsonElement> StatsServerAsync(Uri lb, string name)
    {
        var stats = await _client.GetFromJsonAsync<JsonElement>(new Uri(lb, "/stats?format=json"));
        return stats.GetProperty("backends")[0].GetProperty("servers").EnumerateArray().Single(s => s.GetProperty("name").GetString() == name);
    }

    private async Task<string?> StateAsync(Uri lb, string name) => (await StatsServerAsync(lb, name)).GetProperty("state").GetString();
}
