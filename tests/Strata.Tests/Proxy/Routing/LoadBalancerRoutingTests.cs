using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Strata.Cluster.Election;
using Strata.LoadBalancer;
using Strata.Proxy.Routing;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.Proxy.Routing;

/// <summary>
/// One load balancer node with three web pools (web, api, canary) and a pool whose only server is down, routed by host,
/// path, method and header, with each rule kind; every test runs through the node's own address (Kestrel's HTTP
/// layer) and through the VIP (the connection path), which must decide the same.
/// </summary>
public sealed class LoadBalancerRoutingTests(LoadBalancerRoutingTests.Cluster cluster, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<LoadBalancerRoutingTests.Cluster>
{
    private static readonly HttpClient Client = new(new SocketsHttpHandler { UseProxy = false, UseCookies = false, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(15) };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task NoRouteMatches_DefaultPool(bool throughVip)
    {
        using var response = await SendAsync(throughVip, HttpMethod.Get, "/page", host: "www.foobar.com");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("web-1", ServedBy(response));
    }

    [Theory]
    [InlineData(false, "api.foobar.com")]
    [InlineData(true, "api.foobar.com")]
    [InlineData(false, "API.foobar.com:8080")]
    [InlineData(true, "v2.api.foobar.com")]
    public async Task HostExactOrWildcard_ApiPool(bool throughVip, string host)
    {
        using var response = await SendAsync(throughVip, HttpMethod.Get, "/page", host: host);

        Assert.Equal("api-1", ServedBy(response));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PathPrefix_ApiPool_OtherPathsNot(bool throughVip)
    {
        using var api = await SendAsync(throughVip, HttpMethod.Get, "/api/messages");
        using var apiOther = await SendAsync(throughVip, HttpMethod.Get, "/apiary");

        Assert.Equal("api-1", ServedBy(api));
        Assert.Equal("web-1", ServedBy(apiOther));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task EncodedPath_MatchedDecoded(bool throughVip)
    {
        // "/%61pi/" is "/api/": a route must not be dodged by encoding (the connection path hands it to Kestrel).
        // A raw socket, as HttpClient would decode %61 itself.
        var address = throughVip ? cluster.Vip : cluster.Node;
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(address.Host, address.Port);
        await socket.SendAsync(Encoding.ASCII.GetBytes("GET /%61pi/x HTTP/1.1\r\nHost: www.foobar.com\r\nConnection: close\r\n\r\n"));
        var answer = new StringBuilder();
        var buffer = new byte[4096];
        for (int read; (read = await socket.ReceiveAsync(buffer)) > 0;)
        {
            answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        Assert.Contains("\r\nX-Served-By: api-1\r\n", answer.ToString());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task HeaderAndMethod_CanaryPool_OnlyWhenBothMatch(bool throughVip)
    {
        using var get = await SendAsync(throughVip, HttpMethod.Get, "/page", headers: [("X-Canary", "1")]);
        using var otherValue = await SendAsync(throughVip, HttpMethod.Get, "/page", headers: [("X-Canary", "2")]);
        using var post = await SendAsync(throughVip, HttpMethod.Post, "/page", headers: [("X-Canary", "1")], body: "x");

        Assert.Equal("canary-1", ServedBy(get));
        Assert.Equal("web-1", ServedBy(otherValue));
        Assert.Equal("web-1", ServedBy(post));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task FirstMatchWins(bool throughVip)
    {
        // Both the canary route (header) and the api route (path, listed later) match: the canary route is first.
        using var response = await SendAsync(throughVip, HttpMethod.Get, "/api/x", headers: [("X-Canary", "1")]);

        Assert.Equal("canary-1", ServedBy(response));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PoolAllDown_503FromThatPool_OtherPoolsServe(bool throughVip)
    {
        using var down = await SendAsync(throughVip, HttpMethod.Get, "/down/x");
        using var other = await SendAsync(throughVip, HttpMethod.Get, "/page");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        Assert.Contains("no dead server is available", await down.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task DeniedCidr_403_NeverReachesAServer(bool throughVip)
    {
        var before = cluster.TotalRequests;

        using var response = await SendAsync(throughVip, HttpMethod.Get, "/admin/users");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("access denied by route admin", await response.Content.ReadAsStringAsync());
        Assert.Equal(before, cluster.TotalRequests);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AllowedCidr_Forwarded(bool throughVip)
    {
        using var response = await SendAsync(throughVip, HttpMethod.Get, "/ops/status");

        Assert.Equal("web-1", ServedBy(response));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Redirect_VariablesReplaced(bool throughVip)
    {
        using var response = await SendAsync(throughVip, HttpMethod.Get, "/a/b?x=1&y=%20", host: "Old.foobar.com:8080");

        Assert.Equal(HttpStatusCode.MovedPermanently, response.StatusCode);
        Assert.Equal("https://www.foobar.com/a/b?x=1&y=%20#from-old.foobar.com-over-http", response.Headers.Location!.OriginalString);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Return_FixedStatusAndBody(bool throughVip)
    {
        var before = cluster.TotalRequests;

        using var response = await SendAsync(throughVip, HttpMethod.Get, "/ping");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("pong\n", await response.Content.ReadAsStringAsync());
        Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(before, cluster.TotalRequests);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task HeaderRules_EditTheRequestAndTheResponse(bool throughVip)
    {
        using var response = await SendAsync(throughVip, HttpMethod.Get, "/api/x", headers: [("X-Secret", "s"), ("X-Tag", "client"), ("X-Route", "client")]);

        var seen = cluster.ApiHeaders!;
        Assert.Equal("api", seen["X-Route"].ToString());
        Assert.False(seen.ContainsKey("X-Secret"));
        Assert.Equal(["client", "lb"], seen["X-Tag"].SelectMany(v => v!.Split(',', StringSplitOptions.TrimEntries)));
        Assert.Equal("DENY", string.Join(",", response.Headers.GetValues("X-Frame-Options")));
        Assert.False(response.Headers.Contains("X-Internal"));
    }

    [Fact]
    public async Task SameRequest_SameHeadersOnEveryPath()
    {
        (string, string)[] headers = [("X-Tag", "t"), ("X-Secret", "s"), ("Accept", "text/html"), ("X-Forwarded-For", "203.0.113.9"), ("X-Real-IP", "203.0.113.9"), ("Via", "1.1 corp")];
        using var kestrel = await SendAsync(false, HttpMethod.Get, "/api/same", headers: headers);
        var kestrelHeaders = cluster.ApiHeaders!;
        var throughKestrel = Snapshot(kestrelHeaders);
        using var connection = await SendAsync(true, HttpMethod.Get, "/api/same", headers: headers);
        var throughConnection = Snapshot(cluster.ApiHeaders!);
        using var yarp = await SendAsync(false, HttpMethod.Put, "/api/same", headers: headers, body: "x");
        var throughYarp = Snapshot(cluster.ApiHeaders!, bodyHeadersToo: false);

        Assert.Equal(throughKestrel, throughConnection);
        Assert.Equal(Snapshot(kestrelHeaders, bodyHeadersToo: false), throughYarp);
        Assert.Equal(Snapshot(kestrel.Headers), Snapshot(connection.Headers));
        Assert.Equal(Snapshot(kestrel.Headers), Snapshot(yarp.Headers));
    }

    [Theory]
    [InlineData(false, "127.0.0.31", "127.0.0.32")]
    [InlineData(true, "127.0.0.33", "127.0.0.34")]
    public async Task RateLimit_OneClientOverItsBurstGets429WithRetryAfter_AnotherIsServed(bool throughVip, string limited, string other)
    {
        // 1 request/s with a burst of 3: five at once from one address, then one from another.
        var answers = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            answers.Add(await RawGetAsync(throughVip, IPAddress.Parse(limited), "/limited/x"));
        }

        var otherAnswer = await RawGetAsync(throughVip, IPAddress.Parse(other), "/limited/x");

        var statuses = answers.Select(a => a[9..12]).ToList();
        Assert.Equal(["200", "200", "200"], statuses.Take(3));
        Assert.Contains("429", statuses);
        Assert.True(statuses.Count(s => s == "200") <= 4, string.Join(",", statuses));
        var refused = answers.First(a => a[9..12] == "429");
        Assert.Matches("\r\nRetry-After: 1\r\n", refused);
        Assert.Contains("too many requests", refused);
        Assert.DoesNotContain("X-Served-By: web-1", refused);
        Assert.StartsWith("HTTP/1.1 200", otherAnswer);
        Assert.Matches("strata_rate_limited_total\\{route=\"limited\",node=\"lb-1\",tier=\"lb\"\\} [1-9]", await Client.GetStringAsync(new Uri(cluster.Node, "/metrics")));
    }

    [Fact]
    public async Task RateLimit_UnderAFloodFromOneAddress_TheOtherIsServedInFull()
    {
        // A bounded flood: 8 kept-alive connections from 127.0.0.71 send 2,000 requests to the limited route (1/s, burst
        // 3) through the VIP, while 127.0.0.72 sends 100 one at a time. Correctness is asserted; the timings are printed
        // (the harness measures speed, not the tests).
        var flood = new int[3];
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        var sent = 0;
        var flooding = Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            using var http = new HttpClient(new SocketsHttpHandler
            {
                UseProxy = false,
                ConnectCallback = async (context, cancellationToken) =>
                {
                    var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    socket.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.71"), 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                },
            });
            while (Interlocked.Increment(ref sent) <= 2000)
            {
                using var response = await http.GetAsync(new Uri(cluster.Vip, "/limited/flood"));
                Interlocked.Increment(ref flood[response.StatusCode switch { HttpStatusCode.OK => 0, HttpStatusCode.TooManyRequests => 1, _ => 2 }]);
            }
        }));

        // 127.0.0.72 within its budget on the limited route (its burst of 3), then on a route without a limit.
        var latencies = new List<double>();
        var otherStatuses = new List<string>();
        for (var i = 0; i < 100; i++)
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            otherStatuses.Add((await RawGetAsync(true, IPAddress.Parse("127.0.0.72"), i < 3 ? "/limited/other" : "/page"))[9..12]);
            latencies.Add(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        await flooding;
        latencies.Sort();
        output.WriteLine($"flood from 127.0.0.71: {flood[0]} served, {flood[1]} refused 429, {flood[2]} other, in {stopwatch.Elapsed.TotalSeconds:0.0} s");
        output.WriteLine($"127.0.0.72 meanwhile: p50 {latencies[50]:0.0} ms, p99 {latencies[98]:0.0} ms, max {latencies[^1]:0.0} ms");
        Assert.Equal(2000, flood.Sum());
        Assert.Equal(0, flood[2]);
        Assert.True(flood[0] <= 3 + (int)Math.Ceiling(stopwatch.Elapsed.TotalSeconds) + 1, $"{flood[0]} of the flood were served");
        Assert.All(otherStatuses, s => Assert.Equal("200", s));
    }

    [Theory]
    [InlineData(false, "127.0.0.35")]
    [InlineData(true, "127.0.0.36")]
    public async Task RateLimit_BehindATrustedProxy_CountsTheAddressItForwardsFor(bool throughVip, string proxy)
    {
        // A trusted proxy (loadBalancers.trustedProxies) forwards for two clients: each has its own budget (burst 3).
        var client = $"198.51.100.{(throughVip ? 1 : 2)}";
        var statuses = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            statuses.Add((await RawGetAsync(throughVip, IPAddress.Parse(proxy), "/limited/x", $"X-Forwarded-For: 203.0.113.9, {client}\r\n"))[9..12]);
        }

        var other = await RawGetAsync(throughVip, IPAddress.Parse(proxy), "/limited/x", "X-Forwarded-For: 198.51.100.200\r\n");

        Assert.Equal(["200", "200", "200"], statuses.Take(3));
        Assert.Contains("429", statuses);
        Assert.StartsWith("HTTP/1.1 200", other);
    }

    /// <summary>A GET over a connection from <paramref name="source"/> (a loopback address), the whole answer as text.</summary>
    private Task<string> RawGetAsync(bool throughVip, IPAddress source, string path, string headers = "")
    {
        var address = throughVip ? cluster.Vip : cluster.Node;
        return RawHttp.GetAsync(source, IPEndPoint.Parse($"{address.Host}:{address.Port}"), path, headers);
    }

    private async Task<HttpResponseMessage> SendAsync(bool throughVip, HttpMethod method, string path, string? host = null, (string Name, string Value)[]? headers = null, string? body = null)
    {
        var request = new HttpRequestMessage(method, new Uri(throughVip ? cluster.Vip : cluster.Node, path));
        if (host is not null)
        {
            request.Headers.Host = host;
        }

        foreach (var (name, value) in headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
        }

        return await Client.SendAsync(request);
    }

    private static string? ServedBy(HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-Served-By", out var values) ? values.First() : null;

    // Host aside (the client's port differs), sorted; without the body's own headers when comparing with a request that
    // has one. Lines of one name compare as their combined value (RFC 9110 §5.3: "a, b" on one line is "a" and "b" on two).
    private static string Snapshot(IHeaderDictionary headers, bool bodyHeadersToo = true) => Snapshot(headers
        .Where(h => h.Key is not ("Host" or "X-Forwarded-Host") && (bodyHeadersToo || !h.Key.StartsWith("Content-", StringComparison.OrdinalIgnoreCase)))
        .Select(h => $"{h.Key.ToLowerInvariant()}: {string.Join(",", h.Value.SelectMany(v => v!.Split(',', StringSplitOptions.TrimEntries)))}"));

    private static string Snapshot(IEnumerable<string> lines) => string.Join("\n", lines.Order(StringComparer.Ordinal));

    private static string Snapshot(System.Net.Http.Headers.HttpResponseHeaders headers) => string.Join("\n", headers
        .Where(h => h.Key is not ("Date" or "Server" or "Connection" or "Keep-Alive"))
        .Select(h => $"{h.Key.ToLowerInvariant()}: {string.Join(",", h.Value)}").Order(StringComparer.Ordinal));

    /// <summary>The load balancer, its web pools' fake servers and its routes.</summary>
    public sealed class Cluster : IAsyncLifetime
    {
        private WebApplication? _lb;
        private FakeUpstream _web = null!;
        private FakeUpstream _canary = null!;

        private FakeUpstream _api = null!;

        /// <summary>The headers the api pool's server saw last.</summary>
        public IHeaderDictionary? ApiHeaders => _api.LastHeaders;

        public Uri Node { get; private set; } = null!;

        public Uri Vip { get; private set; } = null!;

        public int TotalRequests => _web.Requests + _api.Requests + _canary.Requests;

        public async Task InitializeAsync()
        {
            _web = await FakeUpstream.StartAsync("web-1");
            _api = await FakeUpstream.StartAsync("api-1");
            _api.Behavior = async context =>
            {
                context.Response.Headers["X-Internal"] = "1";
                context.Response.Headers["X-Frame-Options"] = "SAMEORIGIN";
                await context.Response.WriteAsync("api");
            };
            _canary = await FakeUpstream.StartAsync("canary-1");
            var lb = TestTopology.Node("lb-1", NodeRole.LoadBalancer);
            var backend = TestTopology.FastBackend;
            var topology = TestTopology.Create(
                loadBalancers: [lb],
                webNodes: [TestTopology.Node("web-1", NodeRole.Web, _web.Url)],
                webBackend: backend) with
            {
                TrustedProxies = [IPNetwork.Parse("127.0.0.35/32"), IPNetwork.Parse("127.0.0.36/32")],
                WebPools =
                [
                    new PoolSpec("api", [TestTopology.Node("api-1", NodeRole.Web, _api.Url)], backend),
                    new PoolSpec("canary", [TestTopology.Node("canary-1", NodeRole.Web, _canary.Url)], backend),
                    new PoolSpec("dead", [TestTopology.Node("dead-1", NodeRole.Web, new IPEndPoint(IPAddress.Loopback, ClosedPort()))], backend),
                ],
                LoadBalancerRoutes =
                [
                    Route("admin", new RouteMatchSpec([], ["/admin"], [], []), "web", new AccessRule(true, [IPNetwork.Parse("10.0.0.0/8")]), new AccessRule(false, [IPNetwork.Parse("0.0.0.0/0"), IPNetwork.Parse("::/0")])),
                    Route("ops", new RouteMatchSpec([], ["/ops/"], [], []), "web", new AccessRule(true, [IPNetwork.Parse("127.0.0.0/8")]), new AccessRule(false, [IPNetwork.Parse("0.0.0.0/0")])),
                    Route("old", new RouteMatchSpec(["old.foobar.com"], [], [], []), "web", new RedirectRule(301, "https://www.foobar.com$request_uri#from-$host-over-$scheme")),
                    Route("ping", new RouteMatchSpec([], ["/ping"], [], []), "web", new ReturnRule(200, "pong\n", "text/plain"), new HeaderRule(HeaderAction.Set, "X-Never", "1")),
                    Route("canary", new RouteMatchSpec([], [], ["GET"], [new("X-Canary", "1")]), "canary"),
                    Route("api", new RouteMatchSpec(["api.foobar.com", "*.api.foobar.com"], [], [], []), "api"),
                    new RouteSpec(
                        "api-path",
                        new RouteMatchSpec([], ["/api/"], [], []),
                        "api",
                        [new HeaderRule(HeaderAction.Set, "X-Route", "api"), new HeaderRule(HeaderAction.Remove, "X-Secret", ""), new HeaderRule(HeaderAction.Add, "X-Tag", "lb")],
                        [new HeaderRule(HeaderAction.Set, "X-Frame-Options", "DENY"), new HeaderRule(HeaderAction.Remove, "X-Internal", "")]),
                    Route("down", new RouteMatchSpec([], ["/down/"], [], []), "dead"),
                    Route("limited", new RouteMatchSpec([], ["/limited/"], [], []), "web", new RateLimitRule(1, 3)),
                ],
            };
            _lb = LoadBalancerNode.Build(topology, lb);
            await _lb.StartAsync();
            Node = new Uri(_lb.Urls.First());
            Vip = new Uri($"http://{topology.Vip}/");
            var backends = _lb.Services.GetRequiredService<Backends>();
            Assert.True(await Eventually.TrueAsync(() => Task.FromResult(backends.All.Take(3).All(p => p.HealthyCount == 1))), "the web servers never came up");
            Assert.True(await Eventually.TrueAsync(() => Task.FromResult(_lb.Services.GetRequiredService<VipStatus>().HoldsVip)), "the load balancer never took the VIP");
        }

        public async Task DisposeAsync()
        {
            if (_lb is not null)
            {
                await _lb.StopAsync();
                await _lb.DisposeAsync();
            }

            await _web.DisposeAsync();
            await _api.DisposeAsync();
            await _canary.DisposeAsync();
        }

        private static RouteSpec Route(string name, RouteMatchSpec match, string pool, params RuleSpec[] rules) => new(name, match, pool, [.. rules], []);

        private static int ClosedPort()
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            return ((IPEndPoint)socket.LocalEndPoint!).Port;
        }
    }
}
