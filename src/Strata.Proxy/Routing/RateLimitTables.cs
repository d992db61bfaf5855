using System.Collections.Immutable;
using System.Net;
using Strata.Topology;

namespace Strata.Proxy.Routing;

/// <summary>
/// Every rate limit of a node's routes by a name that is the same on every load balancer of the topology
/// (<c>ROUTE#N</c>, its Nth limit), kept across reloads while the rule is unchanged (a reload does not hand clients a
/// fresh budget), and the operations a peer sync needs (HAProxy's <c>peers</c> for its stick tables): the budgets of
/// the clients that are spending theirs, and taking a peer's word on them.
/// </summary>
public sealed class RateLimitTables
{
    private readonly Lock _lock = new();
    private ImmutableDictionary<string, ClientRateLimiter> _limiters = ImmutableDictionary<string, ClientRateLimiter>.Empty;
    private bool _shared;

    /// <summary>One client's budget on one limit: the ticks of tokens it has left (at most a whole burst).</summary>
    public readonly record struct Budget(string Limit, IPAddress Client, long Available);

    /// <summary>Whether a peer sync runs: limiters then note the clients spending their budget.</summary>
    public bool Shared
    {
        get => _shared;
        set
        {
            lock (_lock)
            {
                _shared = value;
                foreach (var limiter in _limiters.Values)
                {
                    limiter.Shared = value;
                }
            }
        }
    }

    /// <summary>The clock of every limit: <see cref="Environment.TickCount64"/> in ticks (what <see cref="Route"/> passes).</summary>
    public static long Now => Environment.TickCount64 * TimeSpan.TicksPerMillisecond;

    /// <summary>Adds to <paramref name="into"/> the budgets noted since the last call, or with <paramref name="all"/> every budget that is not whole.</summary>
    public void Collect(List<Budget> into, bool all = false)
    {
        var now = Now;
        var noted = new List<(IPAddress Address, long Available)>();
        foreach (var (name, limiter) in _limiters)
        {
            if (all)
            {
                limiter.CollectAll(now, noted);
            }
            else
            {
                limiter.Collect(now, noted);
            }

            foreach (var (address, available) in noted)
            {
                into.Add(new Budget(name, address, available));
            }

            noted.Clear();
        }
    }

    /// <summary>Takes a peer's budget for a client: the emptier of the two holds. A limit this node does not have is ignored.</summary>
    public void Merge(Budget budget)
    {
        if (_limiters.TryGetValue(budget.Limit, out var limiter))
        {
            limiter.Merge(budget.Client, budget.Available, Now);
        }
    }

    /// <summary>Replaces the limits with <paramref name="routes"/>'s, keeping the state of each whose rule is unchanged.</summary>
    internal IReadOnlyDictionary<string, ClientRateLimiter> Apply(IEnumerable<RouteSpec> routes)
    {
        lock (_lock)
        {
            var next = ImmutableDictionary.CreateBuilder<string, ClientRateLimiter>(StringComparer.Ordinal);
            foreach (var route in routes)
            {
                var index = 0;
                // As Route reads them: rules after an answer are never reached.
                foreach (var rule in route.Request.TakeWhile(r => r is not (RedirectRule or ReturnRule)).OfType<RateLimitRule>())
                {
                    var name = $"{route.Name}#{index++}";
                    next[name] = _limiters.TryGetValue(name, out var kept) && kept.Rule == rule ? kept : new ClientRateLimiter(rule) { Shared = _shared };
                }
            }

            _limiters = next.ToImmutable();
            return _limiters;
        }
    }
}
