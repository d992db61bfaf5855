using Strata.Proxy.Upstreams;
using Strata.Topology;

namespace Strata.Proxy.Balancing;

/// <summary>Creates the policy a backend names; the names are validated with the topology.</summary>
internal static class BalancingPolicies
{
    public static IBalancingPolicy Create(BackendSpec backend, IReadOnlyList<Upstream> members, Random random) => backend.Algorithm switch
    {
        BalancingAlgorithms.RoundRobin => new RoundRobinBalancingPolicy(members.Count),
        BalancingAlgorithms.LeastConnections => new LeastConnectionsBalancingPolicy(),
        BalancingAlgorithms.PowerOfTwo => new PowerOfTwoBalancingPolicy(random),
        BalancingAlgorithms.First => new FirstBalancingPolicy(),
        BalancingAlgorithms.Hash => new ConsistentHashBalancingPolicy(members, backend.HashOn, backend.HashHeader),
        _ => throw new ArgumentException($"unknown balancing algorithm '{backend.Algorithm}'", nameof(backend)),
    };
}
