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
        var seen = new ConcurrentQueue<(string Protocol, string Connection, string Via, string ConnectionId)>();
        app.Behavior = async context =>
        {
            seen.Enqueue((context.Request.Protocol, context.Request.Headers.Connection.ToString(), context.Request.Headers.Via.ToString(), context.Connection.Id));
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
            using var api = await client.GetAsync("/api/messages");
            Assert.Equal(HttpStatusCode.OK, api.StatusCode);
            Assert.Equal("from app-1 /api/messages", await api.Content.ReadAsStringAsync());
            Assert.Contains("1.1 web-1", api.Headers.GetValues("Via"));
        }

        // The management address answers the load balancers' checks, and nothing else.
        foreach (var (path, status) in new[] { ("/healthz", HttpStatusCode.OK), ("/readyz", HttpStatusCode.OK), ("/index.html", HttpStatusCode.NotFound) })
        {
            using var check = await client.GetAsync($"http://{management}{path}");
            Assert.True(status == check.StatusCode, $"{management}{path}: {check.StatusCode}");
        }

        using var dynamic = await client.GetAsync("/guestbook");
        Assert.Equal("from app-1 /guestbook", await dynamic.Content.ReadAsStringAsync());

        var requests = seen.ToList();
        Assert.Equal(4, requests.Count);
        Assert.All(requests, r => Assert.Equal("HTTP/1.1", r.Protocol));
        Assert.All(requests, r => Assert.DoesNotContain("close", r.Connection, StringComparison.OrdinalIgnoreCase));
        Assert.All(requests, r => Assert.Equal("1.1 web-1", r.Via));
        // One worker, one upstream connection kept alive: every request reused it.
        Assert.Single(requests.Select(r => r.ConnectionId).Distinct());
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
