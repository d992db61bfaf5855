using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Strata.Hosting;
using Strata.Proxy.Balancing;
using Strata.Proxy.Upstreams;
using Strata.Topology;

namespace Strata.Proxy.Routing;

/// <summary>
/// The pools a forwarding node sends to — the tier's default pool first, then its named pools — and its routes; a
/// reload applies each pool's servers and settings by name and replaces the routes. Pools are made at start: a
/// reload that adds or removes a pool is logged and waits for a restart (as a new HAProxy backend needs a reload).
/// </summary>
public sealed partial class Backends : ITopologyReloadTarget
{
    private readonly Func<Topology.Topology, ImmutableArray<PoolSpec>> _pools;
    private readonly Func<Topology.Topology, ImmutableArray<RouteSpec>> _routes;
    private readonly ILogger _logger;

    internal Backends(
        Topology.Topology topology,
        Func<Topology.Topology, ImmutableArray<PoolSpec>> pools,
        Func<Topology.Topology, ImmutableArray<RouteSpec>> routes,
        TimeProvider time,
        ILogger logger)
    {
        _pools = pools;
        _routes = routes;
        _logger = logger;
        All = [.. pools(topology).Select((p, i) => new UpstreamPool(p.Name, p.Nodes, p.Backend, time, BalancingPolicies.Create) { Index = i })];
        Router = new Router(routes(topology), this);
    }

    /// <summary>Every pool, the default first.</summary>
    public ImmutableArray<UpstreamPool> All { get; }

    /// <summary>The routes' rate limits, kept across reloads, shared with the peers on a load balancer.</summary>
    public RateLimitTables RateLimits { get; } = new();

    /// <summary>The tier's default pool.</summary>
    public UpstreamPool Default => All[0];

    internal Router Router { get; }

    /// <summary>The pool named <paramref name="name"/>, or null.</summary>
    public UpstreamPool? Find(string name)
    {
        foreach (var pool in All)
        {
            if (pool.TierName == name)
            {
                return pool;
            }
        }

        return null;
    }

    /// <summary>Whether every pool can be served by a transport that does not read cookies or the whole request (no persistence cookie, no hash balancing).</summary>
    internal bool NoPoolReadsRequests
    {
        get
        {
            foreach (var pool in All)
            {
                if (pool.Backend is { PersistenceCookie: not null } or { Algorithm: BalancingAlgorithms.Hash })
                {
                    return false;
                }
            }

            return true;
        }
    }

    public void Apply(Topology.Topology topology)
    {
        var specs = _pools(topology);
        foreach (var spec in specs)
        {
            Find(spec.Name)?.Apply(spec.Nodes, spec.Backend);
        }

        var names = specs.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        var current = All.Select(p => p.TierName).ToHashSet(StringComparer.Ordinal);
        if (!names.SetEquals(current))
        {
            LogPoolsChanged(string.Join(", ", names.Except(current)), string.Join(", ", current.Except(names)));
            return;
        }

        Router.Apply(_routes(topology), this);
    }

    [LoggerMessage(EventId = 60, Level = LogLevel.Warning, Message = "pools changed by the reload (added: {Added}; removed: {Removed}): routes and pools stay as they were until the node restarts")]
    private partial void LogPoolsChanged(string added, string removed);
}
