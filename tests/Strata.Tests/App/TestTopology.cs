using System.Collections.Immutable;
using System.Net;
using Strata.Topology;
using TopologyModel = Strata.Topology.Topology;

namespace Strata.Tests.App;

/// <summary>
/// Topologies built directly (the validator rejects port 0, which functional tests need): app nodes on
/// 127.0.0.1:0 over one SQLite file.
/// </summary>
public static class TestTopology
{
    public static NodeSpec AppNode(string name)
    {
        var endpoint = new IPEndPoint(IPAddress.Loopback, 0);
        return new NodeSpec(name, NodeRole.App, endpoint, endpoint);
    }

    public static TopologyModel Create(string databasePath, string webRoot, params NodeSpec[] appNodes)
    {
        var check = new HealthCheckSpec("/readyz", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), 2, 1);
        var dnsEndpoint = new IPEndPoint(IPAddress.Loopback, 0);
        return new TopologyModel
        {
            SourcePath = Path.Combine(webRoot, "strata.json"),
            Dns = new NodeSpec("dns", NodeRole.Dns, dnsEndpoint, dnsEndpoint),
            Zone = new DnsZoneSpec("foobar.com", TimeSpan.FromSeconds(60), ImmutableDictionary<string, IPAddress>.Empty),
            Vip = new IPEndPoint(IPAddress.Loopback, 8080),
            LoadBalancers = [],
            WebNodes = [],
            AppNodes = [.. appNodes],
            WebHealthCheck = check,
            AppHealthCheck = check,
            WebRoot = webRoot,
            Database = new DatabaseSpec("sqlite", databasePath),
        };
    }
}
