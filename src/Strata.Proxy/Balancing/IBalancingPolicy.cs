using Microsoft.AspNetCore.Http;
using Strata.Proxy.Upstreams;

namespace Strata.Proxy.Balancing;

/// <summary>Chooses a server for a request among those that may take it (YARP's ILoadBalancingPolicy, with weights).</summary>
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
