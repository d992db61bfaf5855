using Microsoft.AspNetCore.Http;
using Strata.Proxy.Upstreams;
using Strata.Topology;

namespace Strata.Proxy.Balancing;

/// <summary>Power of two choices: two distinct servers at random, the less loaded for its weight.</summary>
internal sealed class PowerOfTwoBalancingPolicy(Random random) : IBalancingPolicy
{
    public string Name => BalancingAlgorithms.PowerOfTwo;

    public int Pick(HttpContext? context, ReadOnlySpan<Upstream> candidates, ReadOnlySpan<double> weights)
    {
        if (candidates.Length <= 1)
        {
            return candidates.Length - 1;
        }

        var first = random.Next(candidates.Length);
        var second = random.Next(candidates.Length - 1);
        if (second >= first)
        {
            second++;
        }

        var firstLoad = (candidates[first].ActiveRequests + 1) / weights[first];
        var secondLoad = (candidates[second].ActiveRequests + 1) / weights[second];
        return secondLoad < firstLoad ? second : first;
    }
}
