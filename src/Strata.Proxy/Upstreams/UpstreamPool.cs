using System.Collections.Immutable;
using Strata.Topology;

namespace Strata.Proxy.Upstreams;

/// <summary>The servers one tier forwards to, and how it picks one: round robin over the healthy ones.</summary>
public sealed class UpstreamPool
{
    private int _next = -1;

    /// <summary>A pool over <paramref name="nodes"/>, checked as <paramref name="healthCheck"/> says.</summary>
    public UpstreamPool(string tierName, IEnumerable<NodeSpec> nodes, HealthCheckSpec healthCheck)
    {
        TierName = tierName;
        HealthCheck = healthCheck;
        Members = [.. nodes.Select(n => new Upstream(n))];
    }

    /// <summary>What the servers are called in logs and readiness, e.g. "web".</summary>
    public string TierName { get; }

    /// <summary>How the servers are checked.</summary>
    public HealthCheckSpec HealthCheck { get; }

    /// <summary>Every server, in topology order.</summary>
    public ImmutableArray<Upstream> Members { get; }

    /// <summary>How many servers take traffic now.</summary>
    public int HealthyCount
    {
        get
        {
            var count = 0;
            foreach (var member in Members)
            {
                if (member.IsHealthy)
                {
                    count++;
                }
            }

            return count;
        }
    }

    /// <summary>The next healthy server in round-robin order, or null when none is healthy.</summary>
    public Upstream? Next()
    {
        var members = Members;
        var start = (int)((uint)Interlocked.Increment(ref _next) % (uint)members.Length);
        for (var i = 0; i < members.Length; i++)
        {
            var candidate = members[(start + i) % members.Length];
            if (candidate.IsHealthy)
            {
                return candidate;
            }
        }

        return null;
    }
}
