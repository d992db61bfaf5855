using Microsoft.AspNetCore.Http;
using Strata.Proxy.Upstreams;
using Strata.Topology;

namespace Strata.Proxy.Balancing;

/// <summary>
/// Smooth weighted round robin (nginx's): each pick adds every candidate's weight to its running score, takes the
/// highest and subtracts the total from it. Weights 5:1:1 give a b a c a a a, not a a a a a b c.
/// </summary>
internal sealed class RoundRobinBalancingPolicy(int servers) : IBalancingPolicy
{
    private readonly double[] _scores = new double[servers];
    private readonly Lock _lock = new();

    public string Name => BalancingAlgorithms.RoundRobin;

    public int Pick(HttpContext? context, ReadOnlySpan<Upstream> candidates, ReadOnlySpan<double> weights)
    {
        var best = -1;
        var total = 0.0;
        lock (_lock)
        {
            for (var i = 0; i < candidates.Length; i++)
            {
                ref var score = ref _scores[candidates[i].Index];
                score += weights[i];
                total += weights[i];
                if (best < 0 || score > _scores[candidates[best].Index])
                {
                    best = i;
                }
            }

            if (best >= 0)
            {
                _scores[candidates[best].Index] -= total;
            }
        }

        return best;
    }
}
