using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Strata.Export;
using Strata.Export.Nginx;
using Strata.Hosting.Processes;
using Strata.Tests.Common;
using Strata.Topology;
using Xunit.Abstractions;

namespace Strata.Tests.Export;

/// <summary>
/// The exported nginx.conf run by the real nginx (foreground, its own PID, stopped by it) in front of a
/// <see cref="FakeUpstream"/> app node: files served by nginx, the rest forwarded over HTTP/1.1 keep-alive.
/// </summary>
public sealed class NginxExportFunctionalTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = ExportTools.ReadableTempDirectory("strata-export-nginx-run-");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task ExportedNginx_StaticApiAndManagement_FilesServedApiOverKeepAliveMissingStaticAndHidden404ChecksAnswered()
    {
        Requirements.CheckOrReport(ExportTools.Unavailable("nginx"), output);
        var root = Path.Combine(_dir, "www");
        Directory.CreateDirectory(Path.Combine(root, "static"));
        Directory.CreateDirectory(Path.Combine(root, "api"));
        await File.WriteAllTextAsync(Path.Combine(root, "index.html"), "<p>home</p>");
        await File.WriteAllTextAsync(Path.Combine(root, ".env"), "SECRET=1");
        await File.WriteAllTextAsync(Path.Combine(root, "static", "site.css"), "body{}");
        await File.WriteAllTextAsync(Path.Combine(root, "static", "app.3f2a9c1b.js"), "let a;");
        await File.WriteAllTextAsync(Path.Combine(root, "api", "messages"), "a file the app prefix must not serve");

        await using var app = await FakeUpstream.StartAsync("app-1");
        var seen = new ConcurrentQueue<(string Protocol, string Connection, string Via, string ConnectionId, string ForwardedFor, string RealIp)>();
        app.Behavior = async context =>
        {
            var headers = context.Request.Headers;
            seen.Enqueue((context.Request.Protocol, headers.Connection.ToString(), headers.Via.ToString(), context.Connection.Id, headers["X-Forwarded-For"].ToString(), headers["X-Real-IP"].ToString()));
            if (context.Request.Path == "/guestbook")
            {
                context.Response.Headers.ContentSecurityPolicy = "default-src 'none'";
            }

            await context.Response.WriteAsync("from app-1 " + context.Request.Path);
        };
        var web = new IPEndPoint(IPAddress.Loopback, FreePorts.Tcp());
        var management = new IPEndPoint(IPAddress.Loopback, FreePorts.Tcp());
        var topology = TestTopology.Create(
            webNodes: [new NodeSpec("web-1", NodeRole.Web, web, management)],
            appNodes: [TestTopology.Node("app-1", NodeRole.App, app.Url)],
            webRoot: root,
            appBackend: BackendSpec.Default);
        var export = Path.Combine(_dir, "export");
        Directory.CreateDirectory(Path.Combine(export, "logs"));
        Directory.CreateDirectory(Path.Combine(export, "tmp"));
        var config = Path.Combine(export, NginxConfig.FileName);
        await File.WriteAllTextAsync(config, ExportTools.Export(ExportTargets.Nginx, topology, export, workers: 1));

        await using var nginx = ForegroundServer.Start(ExportTools.Find("nginx")!, "-c", config, "-e", Path.Combine(export, "startup.log"), "-g", "daemon off;");
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://{web}/"), Timeout = TimeSpan.FromSeconds(10) };
        Assert.True(await Eventually.TrueAsync(async () => !nginx.HasExited && await Answers(client)), $"nginx (PID {nginx.Pid}) did not answer: {nginx.Log}");

        using var home = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, home.StatusCode);
        Assert.Equal("<p>home</p>", await home.Content.ReadAsStringAsync());
        Assert.Equal("web-1", home.Headers.GetValues("X-Served-By").Single());
        Assert.Equal(WebSpec.DefaultCacheControl, home.Headers.NonValidated["Cache-Control"].ToString());

        using var css = await client.GetAsync("/static/site.css");
        Assert.Equal(HttpStatusCode.OK, css.StatusCode);
        Assert.Equal("body{}", await css.Content.ReadAsStringAsync());
        Assert.StartsWith("text/css", css.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);

        using var fingerprinted = await client.GetAsync("/static/app.3f2a9c1b.js");
        Assert.Equal(WebSpec.ImmutableCacheControl, fingerprinted.Headers.NonValidated["Cache-Control"].ToString());

        using var missing = await client.GetAsync("/static/missing.css");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using var hidden = await client.GetAsync("/.env");
        Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
        Assert.Empty(seen);

        for (var i = 0; i < 3; i++)
        {
            // A client's own claims of its address (no load balancer in front here): replaced, removed.
            using var spoofed = new HttpRequestMessage(HttpMethod.Get, "/api/messages") { Headers = { { "X-Forwarded-For", "6.6.6.6" }, { "X-Real-IP", "6.6.6.6" } } };
            using var api = await client.SendAsync(spoofed);
            Assert.Equal(HttpStatusCode.OK, api.StatusCode);
            Assert.Equal("from app-1 /api/messages", await api.Content.ReadAsStringAsync());
            Assert.Contains("1.1 web-1", api.Headers.GetValues("Via"));
            AssertSecurityHeaders(api);
        }

        // web.securityHeaders on files, errors and forwarded answers, as Strata's web nodes add them.
        foreach (var response in new[] { home, css, missing, hidden })
        {
            AssertSecurityHeaders(response);
        }

        // The management address answers the load balancers' checks, and nothing else.
        foreach (var (path, status) in new[] { ("/healthz", HttpStatusCode.OK), ("/readyz", HttpStatusCode.OK), ("/index.html", HttpStatusCode.NotFound) })
        {
            using var check = await client.GetAsync($"http://{management}{path}");
            Assert.True(status == check.StatusCode, $"{management}{path}: {check.StatusCode}");
        }

        using var dynamic = await client.GetAsync("/guestbook");
        Assert.Equal("from app-1 /guestbook", await dynamic.Content.ReadAsStringAsync());
        // The app's own policy kept, not doubled.
        Assert.Equal(["default-src 'none'"], dynamic.Headers.GetValues("Content-Security-Policy"));

        var requests = seen.ToList();
        Assert.Equal(4, requests.Count);
        Assert.All(requests, r => Assert.Equal(("127.0.0.1", ""), (r.ForwardedFor, r.RealIp)));
        Assert.All(requests, r => Assert.Equal("HTTP/1.1", r.Protocol));
        Assert.All(requests, r => Assert.DoesNotContain("close", r.Connection, StringComparison.OrdinalIgnoreCase));
        Assert.All(requests, r => Assert.Equal("1.1 web-1", r.Via));
        // One worker, one upstream connection kept alive: every request reused it.
        Assert.Single(requests.Select(r => r.ConnectionId).Distinct());
    }

    private static void AssertSecurityHeaders(HttpResponseMessage response) =>
        Assert.All(WebSpec.Default.SecurityHeaders, h => Assert.Equal([h.Value], response.Headers.GetValues(h.Name)));

    [Fact]
    public async Task ExportedNginx_Routes_ApiPoolDenyRedirectReturnAndHeadersBeforeFiles()
    {
        if (!Requirements.CheckOrReport(ExportTools.Unavailable("nginx"), output))
        {
            return;
        }

        var root = Path.Combine(_dir, "www");
        Directory.CreateDirectory(Path.Combine(root, "static"));
        Directory.CreateDirectory(Path.Combine(root, "private"));
        await File.WriteAllTextAsync(Path.Combine(root, "static", "site.css"), "body{}");
        await File.WriteAllTextAsync(Path.Combine(root, "private", "secret.txt"), "a file the deny rule must keep");
        await using var app = await FakeUpstream.StartAsync("app-1");
        await using var api = await FakeUpstream.StartAsync("api-1");
        api.Behavior = async context =>
        {
            context.Response.Headers["X-Route-Response"] = "from api-1";
            context.Response.Headers["X-Powered-By"] = "fake";
            using var body = new StreamReader(context.Request.Body);
            await context.Response.WriteAsync($"api-1 {context.Request.Method} {context.Request.Path} {await body.ReadToEndAsync()}");
        };
        var web = new IPEndPoint(IPAddress.Loopback, FreePorts.Tcp());
        var topology = TestTopology.Create(
            webNodes: [new NodeSpec("web-1", NodeRole.Web, web, web)],
            appNodes: [TestTopology.Node("app-1", NodeRole.App, app.Url)],
            webRoot: root,
            appBackend: BackendSpec.Default) with
        {
            AppPools = [new PoolSpec("api", [TestTopology.Node("api-1", NodeRole.App, api.Url)], BackendSpec.Default)],
            WebRoutes =
            [
                new RouteSpec(
                    "api",
                    new RouteMatchSpec(["api.foobar.com"], ["/api/"], [], []),
                    "api",
                    [new HeaderRule(HeaderAction.Set, "X-Route", "api"), new HeaderRule(HeaderAction.Add, "X-Tag", "two"), new HeaderRule(HeaderAction.Remove, "X-Drop", "")],
                    [new HeaderRule(HeaderAction.Set, "X-Route-Response", "api"), new HeaderRule(HeaderAction.Add, "X-Extra", "1"), new HeaderRule(HeaderAction.Remove, "X-Powered-By", "")]),
                new RouteSpec("private", new RouteMatchSpec([], ["/private/"], [], []), "app", [new AccessRule(false, [IPNetwork.Parse("127.0.0.1/32")])], []),
                new RouteSpec("old", new RouteMatchSpec([], ["/old/"], [], []), "app", [new RedirectRule(301, "https://$host/new$request_uri")], []),
                new RouteSpec("hello", new RouteMatchSpec([], ["/hello"], [], []), "app", [new ReturnRule(200, "hi $1", "text/plain")], []),
                new RouteSpec("files", new RouteMatchSpec([], ["/static/"], [], []), "app", [], [new HeaderRule(HeaderAction.Add, "X-Files", "yes")]),
            ],
        };
        var export = Path.Combine(_dir, "export");
        Directory.CreateDirectory(Path.Combine(export, "logs"));
        Directory.CreateDirectory(Path.Combine(export, "tmp"));
        var config = Path.Combine(export, NginxConfig.FileName);
        await File.WriteAllTextAsync(config, ExportTools.Export(ExportTargets.Nginx, topology, export, workers: 1));

        await using var nginx = ForegroundServer.Start(ExportTools.Find("nginx")!, "-c", config, "-e", Path.Combine(export, "startup.log"), "-g", "daemon off;");
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://{web}/"), Timeout = TimeSpan.FromSeconds(10) };
        Assert.True(await Eventually.TrueAsync(async () => !nginx.HasExited && await Answers(client)), $"nginx (PID {nginx.Pid}) did not answer: {nginx.Log}");

        // Host and path match: the api pool, with the route's header rules both ways; a body goes along.
        using var routed = new HttpRequestMessage(HttpMethod.Post, "/api/messages") { Content = new StringContent("payload") };
        routed.Headers.Host = "API.foobar.com:8080";
        routed.Headers.Add("X-Tag", "one");
        routed.Headers.Add("X-Drop", "1");
        routed.Headers.Add("X-Route", "client");
        using (var response = await client.SendAsync(routed))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("api-1 POST /api/messages payload", await response.Content.ReadAsStringAsync());
            Assert.Equal("api-1", response.Headers.GetValues("X-Served-By").Single());
            Assert.Equal("api", response.Headers.GetValues("X-Route-Response").Single());
            Assert.Equal("1", response.Headers.GetValues("X-Extra").Single());
            Assert.False(response.Headers.Contains("X-Powered-By"));
        }

        var seen = api.LastHeaders!;
        Assert.Equal("api", seen["X-Route"].ToString());
        // nginx sends one line: the added value joined to the client's (docs/export.md).
        Assert.Equal("one, two", seen["X-Tag"].ToString());
        Assert.False(seen.ContainsKey("X-Drop"));

        // Another host: the default pool, untouched.
        using var other = new HttpRequestMessage(HttpMethod.Get, "/api/messages");
        other.Headers.Host = "www.foobar.com";
        other.Headers.Add("X-Route", "client");
        using (var response = await client.SendAsync(other))
        {
            Assert.Equal("app-1 /api/messages", await response.Content.ReadAsStringAsync());
            Assert.False(response.Headers.Contains("X-Route-Response"));
        }

        Assert.Equal("client", app.LastHeaders!["X-Route"].ToString());

        // The deny comes before the file.
        using (var denied = await client.GetAsync("/private/secret.txt"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        }

        using var old = new HttpRequestMessage(HttpMethod.Get, "/old/a?b=1");
        old.Headers.Host = "WWW.Foobar.com:8080";
        using (var redirect = await client.SendAsync(old))
        {
            Assert.Equal(HttpStatusCode.MovedPermanently, redirect.StatusCode);
            Assert.Equal("https://www.foobar.com/new/old/a?b=1", redirect.Headers.Location!.OriginalString);
        }

        using (var hello = await client.GetAsync("/hello.css"))
        {
            Assert.Equal(HttpStatusCode.OK, hello.StatusCode);
            Assert.Equal("hi $1", await hello.Content.ReadAsStringAsync());
            Assert.Equal("text/plain", hello.Content.Headers.ContentType!.ToString());
        }

        using (var css = await client.GetAsync("/static/site.css"))
        {
            Assert.Equal("body{}", await css.Content.ReadAsStringAsync());
            Assert.Equal("yes", css.Headers.GetValues("X-Files").Single());
        }

        Assert.Equal(2, app.Requests + api.Requests);
    }

    private static async Task<bool> Answers(HttpClient client)
    {
        try
        {
            using var response = await client.GetAsync("/static/site.css");
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or SocketException)
        {
            return false;
        }
    }
}
