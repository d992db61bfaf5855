using System.Net;
using System.Text.Json.Nodes;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.Topology;

/// <summary>Named pools and routes in strata.json: what loads, and errors that name the field.</summary>
public sealed class RouteValidationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("strata-routes-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Load_RepositoryTopology_NoRoutesNoPools()
    {
        var topology = TopologyLoader.Load(Path.Combine(TestTopology.RepositoryRoot, "strata.json"));

        Assert.Empty(topology.LoadBalancerRoutes);
        Assert.Empty(topology.WebRoutes);
        Assert.Equal(["app"], topology.AllAppPools.Select(p => p.Name));
    }

    [Fact]
    public void Load_ApiPoolAndRoutes_Model()
    {
        var topology = TopologyLoader.Load(Write(root =>
        {
            root["app"]!["pools"] = ApiPool();
            root["web"]!["routes"] = JsonNode.Parse("""
                [{ "name": "api", "match": { "hosts": ["API.foobar.com.", "*.api.foobar.com"], "paths": ["/api/"], "methods": ["get"], "headers": { "X-Canary": "1" } },
                   "pool": "api",
                   "request": [{ "allow": ["10.0.0.0/8"] }, { "deny": ["all"] }, { "setHeaders": { "X-A": "1" } }, { "redirect": "https://$host$request_uri", "status": 308 }],
                   "response": [{ "removeHeaders": ["X-Internal"] }] }]
                """);
        }));

        var route = Assert.Single(topology.WebRoutes);
        Assert.Equal(["api.foobar.com", "*.api.foobar.com"], route.Match.Hosts.ToArray());
        Assert.Equal(["GET"], route.Match.Methods.ToArray());
        Assert.Equal("api", route.Pool);
        Assert.Equal(
            [new AccessRule(true, [IPNetwork.Parse("10.0.0.0/8")]).ToString(), "AccessRule", "HeaderRule", "RedirectRule"],
            route.Request.Select((r, i) => i == 0 ? r.ToString() : r.GetType().Name));
        Assert.Equal(308, ((RedirectRule)route.Request[3]).Status);
        Assert.Equal(new HeaderRule(HeaderAction.Remove, "X-Internal", ""), Assert.Single(route.Response));
        Assert.Equal(["app", "api"], topology.AllAppPools.Select(p => p.Name));
        Assert.Contains(topology.AllNodes, n => n.Name == "api-1" && n.Role == NodeRole.App);
    }

    [Theory]
    [InlineData("""[{ "pool": "nope" }]""", "web.routes[0].pool", "'nope' is not a pool behind web; the pools are: app, api")]
    [InlineData("""[{ "match": { "paths": ["api/"] } }]""", "web.routes[0].match.paths", "'api/' is not a path prefix (it must start with '/')")]
    [InlineData("""[{ "match": { "hosts": ["bad host"] } }]""", "web.routes[0].match.hosts", "'bad host' is not a host name or a wildcard such as \"*.foobar.com\"")]
    [InlineData("""[{ "request": [{ "deny": ["10.0.0.300"] }] }]""", "web.routes[0].request[0].deny[0]", "'10.0.0.300' is neither an IP address nor a CIDR range nor \"all\"")]
    [InlineData("""[{ "request": [{ "deny": ["all"], "redirect": "/" }] }]""", "web.routes[0].request[0]", "must have exactly one action: redirect, return, allow, deny, limit, setHeaders, addHeaders or removeHeaders")]
    [InlineData("""[{ "request": [{ "limit": { "burst": 5 } }] }]""", "web.routes[0].request[0].limit.rate", "is required: the requests per second a client may keep up")]
    [InlineData("""[{ "request": [{ "limit": { "rate": 0 } }] }]""", "web.routes[0].request[0].limit.rate", "0 is out of range (1 to 1000000)")]
    [InlineData("""[{ "request": [{ "limit": { "rate": 5, "burst": 0 } }] }]""", "web.routes[0].request[0].limit.burst", "0 is out of range (1 to 1000000)")]
    [InlineData("""[{ "request": [{ "redirect": "https://$hostname/" }] }]""", "web.routes[0].request[0].redirect", "'$hostname' is not a variable; the variables are: $scheme, $host, $request_uri")]
    [InlineData("""[{ "request": [{ "redirect": "/x", "status": 200 }] }]""", "web.routes[0].request[0].status", "200 is not a redirect status (301, 302, 303, 307 or 308)")]
    [InlineData("""[{ "request": [{ "return": 700 }] }]""", "web.routes[0].request[0].return", "700 is out of range (200 to 599)")]
    [InlineData("""[{ "response": [{ "deny": ["all"] }] }]""", "web.routes[0].response[0]", "a response rule can only set, add or remove headers (setHeaders, addHeaders, removeHeaders)")]
    [InlineData("""[{ "request": [{ "setHeaders": { "Content-Length": "1" } }] }]""", "web.routes[0].request[0].setHeaders", "'Content-Length' is written by the proxy itself or frames the message; the reserved names are: Host, Content-Length, Transfer-Encoding, Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Upgrade, Via, X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host")]
    [InlineData("""[{ "request": [{ "addHeaders": { "X-A": "a\u0001b" } }] }]""", "web.routes[0].request[0].addHeaders.X-A", "'a\u0001b' is not a header value (no control characters or characters outside Latin-1)")]
    [InlineData("""[{ "name": "a" }, { "name": "a" }]""", "web.routes[1].name", "'a' is not a route name, or is used twice (lower-case letters, digits and '-', starting with a letter)")]
    public void Load_BadRoute_NamesTheFieldAndTheProblem(string routes, string field, string problem)
    {
        var path = Write(root =>
        {
            root["app"]!["pools"] = ApiPool();
            root["web"]!["routes"] = JsonNode.Parse(routes);
        });

        var error = Assert.Single(Assert.Throws<TopologyException>(() => TopologyLoader.Load(path)).Errors);
        Assert.Equal((field, problem), (error.Field, error.Problem));
    }

    [Fact]
    public void Load_PoolNodeNameTaken_Refused()
    {
        var path = Write(root => root["app"]!["pools"] = JsonNode.Parse("""{ "api": { "nodes": [{ "name": "app-1", "address": "127.0.3.9:8080" }] } }"""));

        var error = Assert.Single(Assert.Throws<TopologyException>(() => TopologyLoader.Load(path)).Errors);
        Assert.Equal("app.pools.api.nodes[0].name", error.Field);
    }

    [Fact]
    public void Load_LoadBalancerRouteToWebPool()
    {
        var topology = TopologyLoader.Load(Write(root =>
        {
            root["web"]!["pools"] = JsonNode.Parse("""{ "assets": { "nodes": [{ "name": "assets-1", "address": "127.0.2.9:8080" }], "balancing": { "algorithm": "first" } } }""");
            root["loadBalancers"]!["routes"] = JsonNode.Parse("""
                [{ "match": { "paths": ["/static/"] }, "pool": "assets", "request": [{ "limit": { "rate": 10, "burst": 40 } }, { "limit": { "rate": 100 } }] }]
                """);
        }));

        var pool = topology.WebPools.Single();
        Assert.Equal(("assets", BalancingAlgorithms.First), (pool.Name, pool.Backend.Algorithm));
        Assert.Equal(("route-1", "assets"), (topology.LoadBalancerRoutes[0].Name, topology.LoadBalancerRoutes[0].Pool));
        Assert.Equal([new RateLimitRule(10, 40), new RateLimitRule(100, 100)], topology.LoadBalancerRoutes[0].Request.ToArray());
    }

    private static JsonNode ApiPool() => JsonNode.Parse("""{ "api": { "nodes": [{ "name": "api-1", "address": "127.0.3.11:8080", "management": "127.0.3.11:8081" }] } }""")!;

    private string Write(Action<JsonObject> change)
    {
        var root = TestTopology.DefaultJson();
        change(root);
        return TestTopology.Write(root, _dir);
    }
}
