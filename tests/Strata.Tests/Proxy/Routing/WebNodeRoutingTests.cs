using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Strata.Tests.Common;
using Strata.Topology;
using Strata.Web;

namespace Strata.Tests.Proxy.Routing;

/// <summary>
/// A web node's routes come before its files (nginx's <c>server_name</c> + <c>location</c>): a route to another app pool
/// is forwarded even where a file exists, a rule's answer comes before the files, and response header rules apply to
/// files too. The default route keeps today's behaviour: files first, the rest to the app pool.
/// </summary>
public sealed class WebNodeRoutingTests : IAsyncLifetime
{
    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false, UseCookies = false, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(15) };
    private readonly string _root = Directory.CreateTempSubdirectory("strata-webroutes-").FullName;
    private FakeUpstream _app = null!;
    private FakeUpstream _api = null!;
    private WebApplication? _web;
    private Uri _address = null!;

    public async Task InitializeAsync()
    {
        File.WriteAllText(Path.Combine(_root, "index.html"), "<p>home</p>");
        Directory.CreateDirectory(Path.Combine(_root, "static"));
        File.WriteAllText(Path.Combine(_root, "static", "site.css"), "p{}");
        _app = await FakeUpstream.StartAsync("app-1");
        _api = await FakeUpstream.StartAsync("api-1");
        var node = TestTopology.Node("web-1", NodeRole.Web);
        var topology = TestTopology.Create(
            webNodes: [node],
            appNodes: [TestTopology.Node("app-1", NodeRole.App, _app.Url)],
            webRoot: _root) with
        {
            AppPools = [new PoolSpec("api", [TestTopology.Node("api-1", NodeRole.App, _api.Url)], TestTopology.FastBackend)],
            WebRoutes =
            [
                new RouteSpec("api", new RouteMatchSpec(["api.foobar.com"], [], [], []), "api", [], []),
                new RouteSpec("internal", new RouteMatchSpec([], ["/internal/"], [], []), "app", [new AccessRule(false, [IPNetwork.Parse("127.0.0.0/8")])], []),
                new RouteSpec("health", new RouteMatchSpec([], ["/health"], [], []), "app", [new ReturnRule(204, "", "text/plain")], []),
                new RouteSpec("assets", new RouteMatchSpec([], ["/static/"], [], []), "app", [], [new HeaderRule(HeaderAction.Set, "X-Content-Type-Options", "nosniff")]),
            ],
        };
        _web = WebNode.Build(topology, node);
        await _web.StartAsync();
        _address = new Uri(_web.Urls.First());
        Assert.True(await Eventually.TrueAsync(async () => (await _client.GetAsync(new Uri(_address, "/api/x"))).StatusCode == HttpStatusCode.OK), "the app pool never came up");
        Assert.True(await Eventually.TrueAsync(async () => (await SendAsync("/index.html", "api.foobar.com")).StatusCode == HttpStatusCode.OK), "the api pool never came up");
    }

    public async Task DisposeAsync()
    {
        if (_web is not null)
        {
            await _web.StopAsync();
            await _web.DisposeAsync();
        }

        await _app.DisposeAsync();
        await _api.DisposeAsync();
        _client.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task RouteToAnotherPool_ForwardedEvenWhereAFileExists()
    {
        using var api = await SendAsync("/index.html", "api.foobar.com");
        using var www = await SendAsync("/index.html", "www.foobar.com");

        Assert.Equal("api-1", ServedBy(api));
        Assert.Equal("api-1 /index.html", await api.Content.ReadAsStringAsync());
        Assert.Equal("web-1", ServedBy(www));
        Assert.Equal("<p>home</p>", await www.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task DefaultRoute_NotAFile_ToTheDefaultAppPool()
    {
        using var response = await SendAsync("/guestbook", "www.foobar.com");

        Assert.Equal("app-1", ServedBy(response));
    }

    [Fact]
    public async Task Deny_403BeforeFilesOrServers()
    {
        var before = _app.Requests + _api.Requests;

        using var response = await SendAsync("/internal/report", "www.foobar.com");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(before, _app.Requests + _api.Requests);
    }

    [Fact]
    public async Task Return_AnsweredByTheWebNode()
    {
        using var response = await SendAsync("/health", "www.foobar.com");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("web-1", ServedBy(response));
    }

    [Fact]
    public async Task ResponseRule_AppliesToFiles()
    {
        using var response = await SendAsync("/static/site.css", "www.foobar.com");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
    }

    private Task<HttpResponseMessage> SendAsync(string path, string host)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_address, path));
        request.Headers.Host = host;
        return _client.SendAsync(request);
    }

    private static string? ServedBy(HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-Served-By", out var values) ? values.First() : null;
}
