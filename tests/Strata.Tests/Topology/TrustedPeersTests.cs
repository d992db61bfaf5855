using System.Net;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.Topology;

/// <summary>Whose X-Forwarded-* each tier believes (<see cref="Strata.Topology.Topology.ProxiesInFront"/>), and the client a chain names.</summary>
public sealed class TrustedPeersTests
{
    private static readonly Strata.Topology.Topology Seed = TopologyLoader.Load(Path.Combine(TestTopology.RepositoryRoot, "strata.json")) with
    {
        TrustedProxies = [IPNetwork.Parse("10.9.0.0/16")],
    };

    [Theory]
    [InlineData(NodeRole.LoadBalancer, "10.9.0.0/16")]
    [InlineData(NodeRole.Web, "10.9.0.0/16 127.0.1.1/32 127.0.1.2/32")]
    [InlineData(NodeRole.App, "10.9.0.0/16 127.0.1.1/32 127.0.1.2/32 127.0.2.1/32 127.0.2.2/32")]
    public void ProxiesInFront_EachTier_TrustedProxiesAndTheTiersBeforeIt(NodeRole role, string expected)
    {
        Assert.Equal(expected, string.Join(' ', Seed.ProxiesInFront(role).Networks));
    }

    [Theory]
    [InlineData("127.0.0.1", "6.6.6.6", "127.0.0.1")] // a client's own claim: not believed
    [InlineData("127.0.1.1", "203.0.113.7", "203.0.113.7")] // what a load balancer saw
    [InlineData("127.0.1.1", "6.6.6.6, 203.0.113.7", "203.0.113.7")] // the load balancer's client claimed 6.6.6.6: not believed
    [InlineData("127.0.1.1", "203.0.113.7, 10.9.0.5", "203.0.113.7")] // behind a trusted proxy: the address it saw
    [InlineData("127.0.1.1", "10.9.0.4, 10.9.0.5", "10.9.0.4")] // every hop trusted: the leftmost
    [InlineData("::ffff:127.0.1.1", "203.0.113.7", "203.0.113.7")] // IPv4-mapped peer
    [InlineData("127.0.1.1", "", "127.0.1.1")]
    public void Client_Chain_RightToLeftWhileTrusted(string peer, string forwardedFor, string client)
    {
        Assert.Equal(client, Seed.ProxiesInFront(NodeRole.Web).Client(IPAddress.Parse(peer), forwardedFor));
    }
}
