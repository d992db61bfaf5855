using System.Collections.Immutable;
using System.Net;
using Strata.Proxy.Routing;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.Proxy.Routing;

/// <summary>What a route matches and what its rules decide, without a network; and what a reload does to the routes.</summary>
public sealed class RouterTests
{
    private static readonly BackendSpec Backend = TestTopology.FastBackend;

    [Theory]
    [InlineData("api.foobar.com", true)]
    [InlineData("API.FOOBAR.COM:8443", true)]
    [InlineData("api.foobar.com.", true)]
    [InlineData("v1.api.foobar.com", true)]
    [InlineData("foobar.com", false)]
    [InlineData("xapi.foobar.com", false)]
    [InlineData("api.foobar.com.evil.example", false)]
    public void Hosts_ExactAndWildcard_PortAndCaseIgnored(string host, bool api)
    {
        var backends = Backends(Route("api", hosts: ["api.foobar.com", "*.api.foobar.com"]));

        Assert.Equal(api ? "api" : "default", backends.Router.Match(new Request { Host = host }).Name);
    }

    [Fact]
    public void Wildcard_DoesNotMatchTheApex()
    {
        var backends = Backends(Route("sub", hosts: ["*.foobar.com"]));

        Assert.Equal("default", backends.Router.Match(new Request { Host = "foobar.com" }).Name);
        Assert.Equal("sub", backends.Router.Match(new Request { Host = "www.foobar.com" }).Name);
    }

    [Theory]
    [InlineData("*", "anything", true)]
    [InlineData("*", null, false)]
    [InlineData("1", " 1 ", true)]
    [InlineData("1", "10", false)]
    public void Header_ExactValueOrPresent(string wanted, string? sent, bool matches)
    {
        var backends = Backends(Route("canary", headers: [new("X-Canary", wanted)]));

        var request = new Request { Headers = sent is null ? [] : new() { ["X-Canary"] = sent } };

        Assert.Equal(matches ? "canary" : "default", backends.Router.Match(request).Name);
    }

    [Fact]
    public void AllConditions_MustHold()
    {
        var backends = Backends(Route("post-api", paths: ["/api/"], methods: ["POST"]));

        Assert.Equal("post-api", backends.Router.Match(new Request { Method = "POST", Path = "/api/x" }).Name);
        Assert.Equal("default", backends.Router.Match(new Request { Method = "GET", Path = "/api/x" }).Name);
        Assert.Equal("default", backends.Router.Match(new Request { Method = "POST", Path = "/ap" }).Name);
    }

    [Theory]
    [InlineData("10.1.2.3", 0)]
    [InlineData("192.168.1.5", 403)]
    [InlineData("192.168.9.9", 0)]
    [InlineData("::ffff:192.168.1.5", 403)]
    [InlineData("2001:db8::1", 403)]
    public void AccessRules_FirstThatHoldsTheClientDecides(string client, int status)
    {
        // nginx: allow 10.0.0.0/8; deny 192.168.1.0/24; allow 192.168.0.0/16; deny all.
        var route = Route(
            "admin",
            rules:
            [
                new AccessRule(true, [IPNetwork.Parse("10.0.0.0/8")]),
                new AccessRule(false, [IPNetwork.Parse("192.168.1.0/24")]),
                new AccessRule(true, [IPNetwork.Parse("192.168.0.0/16")]),
                new AccessRule(false, [IPNetwork.Parse("0.0.0.0/0"), IPNetwork.Parse("::/0")]),
            ]);
        var matched = Backends(route).Router.Match(new Request());

        Assert.Equal(status, matched.Decide(new Request { Peer = IPAddress.Parse(client) }).Status);
    }

    [Fact]
    public void RulesAfterAnAnswer_NeverReached()
    {
        var route = Route("gone", rules: [new ReturnRule(410, "gone", "text/plain"), new AccessRule(false, [IPNetwork.Parse("0.0.0.0/0")]), new HeaderRule(HeaderAction.Set, "X-A", "1")]);
        var matched = Backends(route).Router.Match(new Request());

        var answer = matched.Decide(new Request { Peer = IPAddress.Loopback });

        Assert.Equal((410, "gone"), (answer.Status, answer.Body));
        Assert.True(matched.RequestEdits.IsEmpty);
    }

    [Fact]
    public void HeaderRules_InOrder()
    {
        var route = new RouteSpec("edits", RouteMatchSpec.All, "web",
        [
            new HeaderRule(HeaderAction.Add, "X-A", "1"),
            new HeaderRule(HeaderAction.Remove, "x-a", ""),
            new HeaderRule(HeaderAction.Add, "X-A", "2"),
            new HeaderRule(HeaderAction.Set, "X-B", "1"),
            new HeaderRule(HeaderAction.Add, "X-B", "2"),
        ], []);
        var edits = Backends(route).Router.Match(new Request()).RequestEdits;

        Assert.True(edits.Drops("X-A") && edits.Drops("x-b"u8));
        Assert.False(edits.Drops("X-C"));
        Assert.Equal("X-A: 2\r\nX-B: 1\r\nX-B: 2\r\n", System.Text.Encoding.Latin1.GetString(edits.Lines));
    }

    [Fact]
    public void Redirect_Variables()
    {
        var route = Route("r", rules: [new RedirectRule(308, "$scheme://www.foobar.com$request_uri?from=$host")]);
        var matched = Backends(route).Router.Match(new Request());

        var answer = matched.Decide(new Request { Host = "Old.Foobar.com:8080", RequestUri = "/a%20b?c=1" });

        Assert.Equal((308, "http://www.foobar.com/a%20b?c=1?from=old.foobar.com"), (answer.Status, answer.Location));
    }

    [Fact]
    public void Reload_ReplacesTheRoutes_ButAPoolAddedWaitsForARestart()
    {
        var log = new ListLogger<Backends>();
        var topology = Topology([Route("a", paths: ["/a"])], pools: ["api"]);
        var backends = new Backends(topology, t => t.AllWebPools, t => t.LoadBalancerRoutes, TimeProvider.System, log);

        backends.Apply(topology with { LoadBalancerRoutes = [Route("b", paths: ["/b"], pool: "api")] });
        var afterReload = backends.Router.Match(new Request { Path = "/b" });
        backends.Apply(Topology([Route("c", paths: ["/c"], pool: "more")], pools: ["api", "more"]));

        Assert.Equal(("b", "api"), (afterReload.Name, afterReload.Pool.TierName));
        Assert.Equal("b", backends.Router.Match(new Request { Path = "/b" }).Name);
        Assert.Contains(log.Lines, l => l.Contains("added: more", StringComparison.Ordinal) && l.Contains("until the node restarts", StringComparison.Ordinal));
    }

    private static RouteSpec Route(
        string name,
        ImmutableArray<string> hosts = default,
        ImmutableArray<string> paths = default,
        ImmutableArray<string> methods = default,
        ImmutableArray<KeyValuePair<string, string>> headers = default,
        string pool = "web",
        ImmutableArray<RuleSpec> rules = default) =>
        new(name, new RouteMatchSpec(hosts.IsDefault ? [] : hosts, paths.IsDefault ? [] : paths, methods.IsDefault ? [] : methods, headers.IsDefault ? [] : headers), pool, rules.IsDefault ? [] : rules, []);

    private static Backends Backends(RouteSpec route) =>
        new(Topology([route]), t => t.AllWebPools, t => t.LoadBalancerRoutes, TimeProvider.System, new ListLogger<Backends>());

    private static Strata.Topology.Topology Topology(ImmutableArray<RouteSpec> routes, string[]? pools = null) =>
        TestTopology.Create(webNodes: [TestTopology.Node("web-1", NodeRole.Web, new IPEndPoint(IPAddress.Loopback, 9001))]) with
        {
            WebPools = [.. (pools ?? []).Select((p, i) => new PoolSpec(p, [TestTopology.Node($"{p}-1", NodeRole.Web, new IPEndPoint(IPAddress.Loopback, 9100 + i))], Backend))],
            LoadBalancerRoutes = routes,
        };

    private sealed class Request : IRoutedRequest
    {
        public string Method { get; init; } = "GET";

        public IPAddress? Peer { get; init; } = IPAddress.Loopback;

        public IPAddress? LimitedClient => Peer;

        public string Scheme { get; init; } = "http";

        public string Host { get; init; } = "www.foobar.com";

        public string Path { get; init; } = "/";

        public string RequestUri { get; init; } = "/";

        public Dictionary<string, string> Headers { get; init; } = [];

        public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
    }
}
