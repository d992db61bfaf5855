using Microsoft.AspNetCore.Http;
using Strata.Proxy.Upstreams;
using Strata.Topology;

namespace Strata.Proxy.Balancing;

/// <summary>The server with the fewest requests in flight for its weight; ties go round robin.</summary>
internal sealed class LeastConnectionsBalancingPolicy : IBalancingPolicy
{
    private uint _next;

    public string Name => BalancingAlgorithms.LeastConnections;

    public int Pick(HttpContext? context, ReadOnlySpan<Upstream> candidates, ReadOnlySpan<double> weights)
    {
        if (candidates.IsEmpty)
        {
            return -1;
        }

        var start = (int)(Interlocked.Increment(ref _next) % (uint)candidates.Length);
        var best = -1;
        var bestLoad = double.MaxValue;
        for (var n = 0; n < candidates.Length; n++)
        {
            var i = (start + n) % candidates.Length;
            var load = (candidates[i].ActiveRequests + 1) / weights[i];
            if (load < bestLoad)
            {
                best = i;
                bestLoad = load;
            }
        }

        return best;
    }
}
