using System.Net;
using Microsoft.AspNetCore.Builder;
using Strata.Tests.Common;
using Strata.Topology;
using Strata.Web;

namespace Strata.Tests.Web;

/// <summary>A real web node over a temporary web root, in front of real Kestrel app stand-ins.</summary>
public sealed class WebNodeTests : IAsyncLifetime
{
    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };
    private readonly string _root = Directory.CreateTempSubdirectory("strata-wwwroot-").FullName;
    private FakeUpstream _app1 = null!;
    private FakeUpstream _app2 = null!;
    private WebApplication? _web;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(_root, "static"));
        await File.WriteAllTextAsync(Path.Combine(_root, "static", "site.css"), "body { color: black; }");
        _app1 = await FakeUpstream.StartAsync("app-1");
        _app2 = await FakeUpstream.StartAsync("app-2");
    }

    public async Task DisposeAsync()
    {
        if (_web is not null)
        {
            await _web.StopAsync();
            await _web.DisposeAsync();
        }

        await _app1.DisposeAsync();
        await _app2.DisposeAsync();
        _client.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task Get_ExistingFile_ServedByTheWebNode()
    {
        var address = await StartWebAsync(_app1, _app2);

        using var response = await _client.GetAsync(new Uri(address, "/static/site.css"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/css", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("body { color: black; }", await response.Content.ReadAsStringAsync());
        Assert.Equal("web-1", Header(response, "X-Served-By"));
        Assert.Equal(0, _app1.Requests + _app2.Requests);
    }

    [Fact]
    public async Task Get_NotAFile_ForwardedRoundRobinToTheAppTier()
    {
        var address = await StartWebAsync(_app1, _app2);
        Assert.True(await Eventually.TrueAsync(async () => await ReadyBodyAsync(address) is { } body && body.Contains("2 of 2 app nodes healthy")));

        var servedBy = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            using var response = await _client.GetAsync(new Uri(address, "/api/messages"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("1.1 web-1", Header(response, "Via"));
            Assert.Equal("1.1 web-1", Header(response, "X-Seen-Via"));
            var app = Header(response, "X-Served-By");
            Assert.Equal($"{app} /api/messages", await response.Content.ReadAsStringAsync());
            servedBy.Add(app);
        }

        Assert.Equal(["app-1", "app-2"], servedBy.Distinct().Order());
    }

    [Fact]
    public async Task Metrics_FilesAndForwardedRequests_BothServedByTheNode_LabelledWithNodeAndTier()
    {
        var address = await StartWebAsync(_app1, _app2);
        Assert.True(await Eventually.TrueAsync(async () => await ReadyBodyAsync(address) is { } body && body.Contains("2 of 2 app nodes healthy")));

        using (var file = await _client.GetAsync(new Uri(address, "/static/site.css")))
        using (var forwarded = await _client.GetAsync(new Uri(address, "/api/messages")))
        using (var missing = await _client.GetAsync(new Uri(address, "/static/missing.css")))
        {
            Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.NotFound), (file.StatusCode, forwarded.StatusCode, missing.StatusCode));
        }

        var text = await _client.GetStringAsync(new Uri(address, "/metrics"));

        MetricsText.AssertEveryLabelled(text, "web-1", "web");
        Assert.Equal(2, MetricsText.Value(text, "strata_http_requests_total{code=\"2xx\""));
        Assert.Equal(1, MetricsText.Value(text, "strata_http_requests_total{code=\"4xx\""));
        Assert.Equal(1, MetricsText.Value(text, "strata_requests_total{backend=\"app\""));
    }

    [Fact]
    public async Task Get_ClientTraceContext_TracingOff_SentOnAsItCame()
    {
        var address = await StartWebAsync(_app1, _app2);
        Assert.True(await Eventually.TrueAsync(async () => await ReadyBodyAsync(address) is { } body && body.Contains("2 of 2 app nodes healthy")));
        const string TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(address, "/api/messages"));
        request.Headers.Add("traceparent", TraceParent);
        request.Headers.Add("tracestate", "vendor=1");
        using var response = await _client.SendAsync(request);

        var app = Header(response, "X-Served-By") == "app-1" ? _app1 : _app2;
        Assert.Equal(TraceParent, app.LastHeaders!["traceparent"].ToString());
        Assert.Equal("vendor=1", app.LastHeaders!["tracestate"].ToString());
    }

    [Fact]
    public async Task Get_NoAppNodeUp_StaticStillServesAndDynamicIs503()
    {
        _app1.Ready = false;
        _app2.Ready = false;
        var address = await StartWebAsync(_app1, _app2);

        using var ready = await _client.GetAsync(new Uri(address, "/readyz"));
        using var file = await _client.GetAsync(new Uri(address, "/static/site.css"));
        using var page = await _client.GetAsync(new Uri(address, "/"));

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal(HttpStatusCode.OK, file.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, page.StatusCode);
        Assert.Equal("10", Header(page, "Retry-After"));
        Assert.Equal("web-1", Header(page, "X-Served-By"));
    }

    private async Task<Uri> StartWebAsync(params FakeUpstream[] apps)
    {
        var node = TestTopology.Node("web-1", NodeRole.Web);
        var topology = TestTopology.Create(
            webNodes: [node],
            appNodes: apps.Select(a => TestTopology.Node(a.Name, NodeRole.App, a.Url)),
            webRoot: _root);
        _web = WebNode.Build(topology, node);
        await _web.StartAsync();
        return new Uri(_web.Urls.First());
    }

    private async Task<string?> ReadyBodyAsync(Uri address)
    {
        using var response = await _client.GetAsync(new Uri(address, "/readyz"));
        return await response.Content.ReadAsStringAsync();
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(", ", values) : "";
}
