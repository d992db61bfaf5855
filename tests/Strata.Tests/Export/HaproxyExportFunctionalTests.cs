using System.Net;
using System.Net.Sockets;
using Strata.Export;
using Strata.Export.Haproxy;
using Strata.Hosting.Processes;
using Strata.Hosting.Tls;
using Strata.Tests.Common;
using Strata.Topology;
using Xunit.Abstractions;

namespace Strata.Tests.Export;

/// <summary>
/// The exported haproxy.cfg run by the real HAProxy (foreground -db, its own PID, stopped by it) on a loopback VIP in
/// front of two <see cref="FakeUpstream"/> web nodes, one of which goes away.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class HaproxyExportFunctionalTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("strata-export-haproxy-run-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task ExportedHaproxy_OneWebServerStops_EveryRequestStillAnswered()
    {
        Requirements.CheckOrReport(ExportTools.Unavailable("haproxy"), output);
        await using var web1 = await FakeUpstream.StartAsync("web-1");
        var web2 = await FakeUpstream.StartAsync("web-2");
        var web2Stopped = false;
        try
        {
            var vip = new IPEndPoint(IPAddress.Loopback, FreePorts.Tcp());
            var management = new IPEndPoint(IPAddress.Loopback, FreePorts.Tcp());
            var topology = TestTopology.Create(
                loadBalancers: [new NodeSpec("lb-1", NodeRole.LoadBalancer, management, management, Priority: 200)],
                webNodes: [TestTopology.Node("web-1", NodeRole.Web, web1.Url), TestTopology.Node("web-2", NodeRole.Web, web2.Url)],
                vip: vip);
            var config = ExportTools.WriteAll(ExportTargets.Haproxy, topology, _dir, workers: 1);

            await using var haproxy = ForegroundServer.Start(ExportTools.Find("haproxy")!, "-db", "-f", config);
            using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };
            Assert.True(
                await Eventually.TrueAsync(async () => !haproxy.HasExited && await StatusAsync(client, $"http://{vip}/") == HttpStatusCode.OK),
                $"HAProxy (PID {haproxy.Pid}) did not answer on {vip}: {haproxy.Log}");

            var servedBy = new List<string>();
            for (var i = 0; i < 10; i++)
            {
                using var response = await client.GetAsync($"http://{vip}/page");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                servedBy.Add(response.Headers.GetValues("X-Served-By").Single());
                Assert.Contains(response.Headers.GetValues("Via"), v => v.StartsWith("1.1 ", StringComparison.Ordinal));
            }

            Assert.Equal(["web-1", "web-2"], servedBy.Distinct().Order(StringComparer.Ordinal));
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, $"http://{management}/readyz"));

            await web2.DisposeAsync();
            web2Stopped = true;
            for (var i = 0; i < 20; i++)
            {
                using var response = await client.GetAsync($"http://{vip}/after");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal("web-1", response.Headers.GetValues("X-Served-By").Single());
            }

            web1.Ready = false;
            Assert.True(
                await Eventually.TrueAsync(async () => await StatusAsync(client, $"http://{management}/readyz") == HttpStatusCode.ServiceUnavailable),
                "the management frontend's /readyz did not fail with no web server up");
        }
        finally
        {
            if (!web2Stopped)
            {
                await web2.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task ExportedHaproxy_Routes_PoolChosenFirstMatchDenyRedirectReturnAndHeaders()
    {
        if (!Requirements.CheckOrReport(ExportTools.Unavailable("haproxy"), output))
        {
            return;
        }

        await using var web1 = await FakeUpstream.StartAsync("web-1");
        await using var canary = await FakeUpstream.StartAsync("web-canary-1");
        var vip = new IPEndPoint(IPAddress.Loopback, FreePorts.Tcp());
        var management = new IPEndPoint(IPAddress.Loopback, FreePorts.Tcp());
        var topology = TestTopology.Create(
            loadBalancers: [new NodeSpec("lb-1", NodeRole.LoadBalancer, management, management, Priority: 200)],
            webNodes: [TestTopology.Node("web-1", NodeRole.Web, web1.Url)],
            vip: vip) with
        {
            WebPools = [new PoolSpec("canary", [TestTopology.Node("web-canary-1", NodeRole.Web, canary.Url)], TestTopology.FastBackend)],
            LoadBalancerRoutes =
            [
                new RouteSpec(
                    "canary",
                    new RouteMatchSpec(["api.foobar.com"], ["/api/"], [], []),
                    "canary",
                    [new HeaderRule(HeaderAction.Set, "X-Route", "canary"), new HeaderRule(HeaderAction.Add, "X-Tag", "two"), new HeaderRule(HeaderAction.Remove, "X-Drop", "")],
                    [new HeaderRule(HeaderAction.Set, "X-Route-Response", "canary"), new HeaderRule(HeaderAction.Add, "X-Extra", "1"), new HeaderRule(HeaderAction.Remove, "X-Seen-Forwarded-For", "")]),
                new RouteSpec("private", new RouteMatchSpec([], ["/private/"], [], []), "web", [new AccessRule(false, [IPNetwork.Parse("127.0.0.1/32")])], []),
                new RouteSpec("old", new RouteMatchSpec([], ["/old/"], [], []), "web", [new RedirectRule(301, "https://$host/new$request_uri")], []),
                new RouteSpec("hello", new RouteMatchSpec([], ["/hello"], [], []), "web", [new ReturnRule(200, "hi", "text/plain")], []),
                // Matches everything: only requests no earlier route took get its header.
                new RouteSpec("rest", RouteMatchSpec.All, "web", [], [new HeaderRule(HeaderAction.Set, "X-Route-Response", "rest")]),
            ],
        };
        var config = ExportTools.WriteAll(ExportTargets.Haproxy, topology, _dir, workers: 1);

        await using var haproxy = ForegroundServer.Start(ExportTools.Find("haproxy")!, "-db", "-f", config);
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://{vip}/"), Timeout = TimeSpan.FromSeconds(10) };
        Assert.True(
            await Eventually.TrueAsync(async () => !haproxy.HasExited && await ServedByAsync(client, "api.foobar.com", "/api/ready") == "web-canary-1"),
            $"HAProxy (PID {haproxy.Pid}) did not route to the canary pool on {vip}: {haproxy.Log}");

        // Host and path match: the canary pool, with the route's request and response header rules.
        using var routed = new HttpRequestMessage(HttpMethod.Get, "/api/x");
        routed.Headers.Host = "API.foobar.com:8080";
        routed.Headers.Add("X-Tag", "one");
        routed.Headers.Add("X-Drop", "1");
        routed.Headers.Add("X-Route", "client");
        using (var response = await client.SendAsync(routed))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("web-canary-1", response.Headers.GetValues("X-Served-By").Single());
            Assert.Equal("canary", response.Headers.GetValues("X-Route-Response").Single());
            Assert.Equal("1", response.Headers.GetValues("X-Extra").Single());
            Assert.False(response.Headers.Contains("X-Seen-Forwarded-For"));
        }

        // HAProxy sends header names in lower case; the fake server's copy of them compares names exactly.
        var seen = canary.LastHeaders!.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase);
        Assert.Equal("canary", seen["X-Route"].ToString());
        // Added beside the client's: two lines.
        Assert.Equal(2, seen["X-Tag"].Count);
        Assert.Equal("one", seen["X-Tag"][0]);
        Assert.Equal("two", seen["X-Tag"][1]);
        Assert.False(seen.ContainsKey("X-Drop"));

        // Another host: the default pool, and the catch-all route's header, not the first route's.
        Assert.Equal("web-1", await ServedByAsync(client, "www.foobar.com", "/api/x"));
        using (var other = await client.GetAsync("/page"))
        {
            Assert.Equal("rest", other.Headers.GetValues("X-Route-Response").Single());
            Assert.Equal("web-1", other.Headers.GetValues("X-Served-By").Single());
        }

        var before = web1.Requests;
        using (var denied = await client.GetAsync("/private/x"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        }

        Assert.Equal(before, web1.Requests);

        using var old = new HttpRequestMessage(HttpMethod.Get, "/old/a?b=1");
        old.Headers.Host = "WWW.Foobar.com:8080";
        using (var redirect = await client.SendAsync(old))
        {
            Assert.Equal(HttpStatusCode.MovedPermanently, redirect.StatusCode);
            Assert.Equal("https://www.foobar.com/new/old/a?b=1", redirect.Headers.Location!.OriginalString);
        }

        using (var hello = await client.GetAsync("/hello"))
        {
            Assert.Equal(HttpStatusCode.OK, hello.StatusCode);
            Assert.Equal("hi", await hello.Content.ReadAsStringAsync());
            Assert.Equal("text/plain", hello.Content.Headers.ContentType!.MediaType);
        }
    }

    [Fact]
    public async Task ExportedHaproxy_VipTls_Http2ToTheWebTier_RedirectAcmeExceptionAndHsts()
    {
        Requirements.CheckOrReport(ExportTools.Unavailable("haproxy") ?? ExportTools.Unavailable("curl"), output);
        await using var web1 = await FakeUpstream.StartAsync("web-1");
        var vip = new IPEndPoint(IPAddress.Loopback, FreePorts.Tcp());
        var https = FreePorts.Tcp();
        var management = new IPEndPoint(IPAddress.Loopback, FreePorts.Tcp());
        // A certificate of the operator's own (HSTS is refused with a generated one), made by the local CA.
        var tlsDir = Path.Combine(_dir, "certs");
        LocalCertificateAuthority.Ensure(tlsDir, ["www.foobar.com"], [IPAddress.Loopback], TimeProvider.System);
        var topology = TestTopology.Create(
            loadBalancers: [new NodeSpec("lb-1", NodeRole.LoadBalancer, management, management, Priority: 200)],
            webNodes: [TestTopology.Node("web-1", NodeRole.Web, web1.Url)],
            vip: vip) with
        {
            VipTls = new VipTlsSpec(
                https,
                [new CertificateFiles(Path.Combine(tlsDir, LocalCertificateAuthority.CertificateFile), Path.Combine(tlsDir, LocalCertificateAuthority.KeyFile))],
                Generate: false,
                tlsDir,
                RedirectHttp: true,
                new HstsSpec(TimeSpan.FromDays(365), IncludeSubDomains: true, Preload: false)),
        };
        var config = ExportTools.WriteAll(ExportTargets.Haproxy, topology, _dir, workers: 1);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_dir, HaproxyConfig.CertificateFileName(0))));

        await using var haproxy = ForegroundServer.Start(ExportTools.Find("haproxy")!, "-db", "-f", config);
        string[] curl = ["--cacert", Path.Combine(tlsDir, LocalCertificateAuthority.CaFile), "--resolve", $"www.foobar.com:{https}:127.0.0.1", "-s", "--max-time", "10"];
        var url = $"https://www.foobar.com:{https}/page?q=1";
        ProcessResult? overHttps = null;
        Assert.True(
            await Eventually.TrueAsync(async () =>
            {
                overHttps = await ChildProcess.RunAsync("curl", [.. curl, "--http2", "-D", "-", "-o", "/dev/null", "-w", "%{http_version}", url], TimeSpan.FromSeconds(20));
                return !haproxy.HasExited && overHttps.Output.Contains("x-served-by: web-1", StringComparison.OrdinalIgnoreCase);
            }),
            $"HAProxy (PID {haproxy.Pid}) did not serve HTTPS on port {https}: {overHttps?.Output}{overHttps?.Error} {haproxy.Log}");

        // HTTP/2 from the client, HSTS on the answer, and X-Forwarded-Proto: https to the web tier.
        Assert.EndsWith("\n2", overHttps!.Output, StringComparison.Ordinal);
        Assert.Contains("strict-transport-security: max-age=31536000; includeSubDomains", overHttps.Output, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("https", web1.LastHeaders!.Single(h => h.Key.Equals("X-Forwarded-Proto", StringComparison.OrdinalIgnoreCase)).Value.ToString());

        // Plain HTTP: 301 to the same host, path and query on the HTTPS port, no HSTS; the ACME challenge still forwarded.
        var redirect = await ChildProcess.RunAsync("curl", ["-s", "-D", "-", "-o", "/dev/null", "-H", "Host: WWW.foobar.com:8080", $"http://{vip}/a/b?c=d"], TimeSpan.FromSeconds(20));
        Assert.StartsWith("HTTP/1.1 301", redirect.Output, StringComparison.Ordinal);
        Assert.Contains($"location: https://www.foobar.com:{https}/a/b?c=d", redirect.Output, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("strict-transport-security", redirect.Output, StringComparison.OrdinalIgnoreCase);
        var acme = await ChildProcess.RunAsync("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", $"http://{vip}/.well-known/acme-challenge/token"], TimeSpan.FromSeconds(20));
        Assert.Equal("200", acme.Output);
        Assert.Equal("http", web1.LastHeaders!.Single(h => h.Key.Equals("X-Forwarded-Proto", StringComparison.OrdinalIgnoreCase)).Value.ToString());
    }

    private static async Task<string?> ServedByAsync(HttpClient client, string host, string path)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Host = host;
            using var response = await client.SendAsync(request);
            return response.Headers.TryGetValues("X-Served-By", out var values) ? values.Single() : null;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or SocketException)
        {
            return null;
        }
    }

    private static async Task<HttpStatusCode?> StatusAsync(HttpClient client, string url)
    {
        try
        {
            using var response = await client.GetAsync(url);
            return response.StatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or SocketException)
        {
            return null;
        }
    }
}
