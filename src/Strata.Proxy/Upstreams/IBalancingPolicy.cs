using Microsoft.AspNetCore.Http;
using Strata.Topology;
namespace Strata.Proxy.Upstreams;

/// <summary>
/// Chooses a server for a request among those that may take it (YARP's ILoadBalancingPolicy, with weights): the pool's
/// extension point, implemented in Balancing/ and given to the pool by whoever makes it (<see cref="PolicyFactory"/>).
/// </summary>
public interface IBalancingPolicy
{
    /// <summary>The name used in strata.json, one of <see cref="Topology.BalancingAlgorithms"/>.</summary>
    string Name { get; }

    /// <summary>
    /// The index in <paramref name="candidates"/> of the chosen server, or -1 for none. Candidates are healthy,
    /// ready, have room and a weight above zero, in topology order; <paramref name="weights"/> are their
    /// effective weights (slow start applied). <paramref name="context"/> is null for a request served below
    /// Kestrel's HTTP layer, which is never the case with a policy that reads the request (hash).
    /// </summary>
    int Pick(HttpContext? context, ReadOnlySpan<Upstream> candidates, ReadOnlySpan<double> weights);
}

/// <summary>Makes the policy of <paramref name="backend"/> over <paramref name="members"/> (again on each reload).</summary>
public delegate IBalancingPolicy PolicyFactory(BackendSpec backend, IReadOnlyList<Upstream> members, Random random);
