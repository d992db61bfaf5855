using Microsoft.AspNetCore.Http;
using Strata.Proxy.Upstreams;
using Strata.Topology;

namespace Strata.Proxy.Balancing;

/// <summary>HAProxy's "first": the first server in topology order with room, so the others can be idle or off.</summary>
internal sealed class FirstBalancingPolicy : IBalancingPolicy
{
    public string Name => BalancingAlgorithms.First;

    public int Pick(HttpContext? context, ReadOnlySpan<Upstream> candidates, ReadOnlySpan<double> weights) =>
        candidates.IsEmpty ? -1 : 0;
}
