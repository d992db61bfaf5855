using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Collections.Immutable;
using Microsoft.AspNetCore.Http;
using Strata.Topology;

namespace Strata.Proxy.Upstreams;

/// <summary>Why no server was acquired.</summary>
public enum AcquireFailure
{
    /// <summary>A server was acquired.</summary>
    None,

    /// <summary>No server is up and ready (or every one was already tried).</summary>
    NoServer,

    /// <summary>Every server is at its limit and the queue is full.</summary>
    QueueFull,

    /// <summary>Every server stayed at its limit for the whole queue timeout.</summary>
    QueueTimeout,
}

/// <summary>
/// A backend: the servers one tier forwards to, the policy that picks one, and the queue in front of them when
/// every server is at its concurrency limit (HAProxy's maxconn and backend queue).
/// </summary>
public sealed class UpstreamPool
{
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly PolicyFactory _policies;
    private readonly ConcurrentQueue<TaskCompletionSource> _waiters = new();
    private int _queued;
    private volatile Configuration _config;

    /// <summary>A backend named <paramref name="tierName"/> over <paramref name="nodes"/>.</summary>
    public UpstreamPool(string tierName, IEnumerable<NodeSpec> nodes, BackendSpec backend, TimeProvider time, PolicyFactory policies, Random? random = null)
    {
        TierName = tierName;
        NoServerDetail = $"no {tierName} server is available";
        _time = time;
        _random = random ?? Random.Shared;
        _policies = policies;
        _config = Configuration.Create([.. nodes.Select((n, i) => new Upstream(n, i))], backend, policies, _random);
    }

    /// <summary>Raised after <see cref="Apply"/> changed the servers or the settings.</summary>
    public event Action? Changed;

    /// <summary>The pool's name, as logs, /stats and /metrics show it: the tier's ("web", "app") or a named pool's.</summary>
    public string TierName { get; }

    /// <summary>Its place among the node's pools (0: the default pool).</summary>
    public int Index { get; init; }

    /// <summary>The detail of a 503 when no server of the pool can take a request.</summary>
    internal string NoServerDetail { get; }

    /// <summary>The backend's settings.</summary>
    public BackendSpec Backend => _config.Backend;

    /// <summary>Every server, in topology order.</summary>
    public ImmutableArray<Upstream> Members => _config.Members;

    /// <summary>The balancing policy's name.</summary>
    public string Algorithm => _config.Policy.Name;

    /// <summary>Requests waiting for a server now.</summary>
    public int QueueLength => Volatile.Read(ref _queued);

    /// <summary>How many servers are up now (whatever their admin state).</summary>
    public int HealthyCount
    {
        get
        {
            var count = 0;
            foreach (var member in Members)
            {
                if (member.IsUp)
                {
                    count++;
                }
            }

            return count;
        }
    }

    /// <summary>Raised once per health change of a server: the server, and whether it is now up.</summary>
    public event Action<Upstream, bool>? HealthChanged;

    /// <summary>Sets a server's health; true (and <see cref="HealthChanged"/> raised) when that changed it.</summary>
    internal bool SetHealth(Upstream upstream, bool up)
    {
        if (!upstream.TrySetUp(up, _time.GetTimestamp()))
        {
            return false;
        }

        HealthChanged?.Invoke(upstream, up);
        return true;
    }

    /// <summary>Whether some server may take a new request now: UP, READY and with a weight above zero.</summary>
    public bool CanServe
    {
        get
        {
            foreach (var member in Members)
            {
                if (member.TakesNewRequests)
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>The server named <paramref name="name"/>, or null.</summary>
    public Upstream? Find(string name) => _config.ByName.GetValueOrDefault(name);

    /// <summary>
    /// Replaces the servers and settings (a reload). A server kept by name and address keeps its health, admin
    /// state, counters and in-flight requests, and takes the weight from the file; new servers start DOWN until
    /// checked; removed servers finish what they have in flight and get nothing new.
    /// </summary>
    public void Apply(IEnumerable<NodeSpec> nodes, BackendSpec backend)
    {
        var old = _config;
        var members = ImmutableArray.CreateBuilder<Upstream>();
        foreach (var node in nodes)
        {
            var index = members.Count;
            if (old.ByName.GetValueOrDefault(node.Name) is { } kept && kept.Node.Address.Equals(node.Address))
            {
                kept.Reconfigure(node, index);
                members.Add(kept);
            }
            else
            {
                members.Add(new Upstream(node, index));
            }
        }

        _config = Configuration.Create(members.ToImmutable(), backend, _policies, _random);
        foreach (var removed in old.Members.Except(members))
        {
            removed.Connections.Dispose();
        }

        Changed?.Invoke();
    }

    /// <summary>
    /// Takes a request slot on a server chosen by the policy, skipping those in <paramref name="tried"/> (a bit per
    /// server index). When every candidate is at its limit the request waits in the queue, up to the queue timeout.
    /// The caller must <see cref="Upstream.Release"/> the slot through <see cref="Release"/>. <paramref name="context"/>
    /// is what the policy may read; null for a request served below Kestrel's HTTP layer.
    /// </summary>
    public async ValueTask<(Upstream? Upstream, AcquireFailure Failure)> AcquireAsync(HttpContext? context, ulong tried, CancellationToken cancellationToken)
    {
        var (upstream, full) = TryAcquire(context, tried);
        if (upstream is not null || !full)
        {
            return (upstream, upstream is null ? AcquireFailure.NoServer : AcquireFailure.None);
        }

        if (Interlocked.Increment(ref _queued) > Backend.MaxQueue)
        {
            Interlocked.Decrement(ref _queued);
            return (null, AcquireFailure.QueueFull);
        }

        try
        {
            var deadline = _time.GetTimestamp() + (long)(Backend.QueueTimeout.TotalSeconds * _time.TimestampFrequency);
            while (true)
            {
                var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiters.Enqueue(signal);

                // A slot may have been released between the attempt above and the enqueue.
                (upstream, full) = TryAcquire(context, tried);
                if (upstream is not null || !full)
                {
                    signal.TrySetResult();
                    return (upstream, upstream is null ? AcquireFailure.NoServer : AcquireFailure.None);
                }

                var remaining = _time.GetElapsedTime(_time.GetTimestamp(), deadline);
                if (remaining <= TimeSpan.Zero)
                {
                    return (null, AcquireFailure.QueueTimeout);
                }

                try
                {
                    await signal.Task.WaitAsync(remaining, _time, cancellationToken);
                }
                catch (TimeoutException)
                {
                    return (null, AcquireFailure.QueueTimeout);
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _queued);
        }
    }

    /// <summary>
    /// Takes a slot on <paramref name="upstream"/> for a request pinned to it (persistence): allowed while it is up
    /// and not in maintenance, even draining; false when it is not, or is at its limit.
    /// </summary>
    public bool TryAcquirePinned(Upstream upstream) =>
        upstream.IsUp && upstream.AdminState != AdminState.Maintenance && upstream.TryAcquire(Backend.MaxRequestsPerServer);

    /// <summary>Whether a server outside <paramref name="tried"/> (a bit per server index) takes new requests now.</summary>
    public bool HasUntried(ulong tried)
    {
        foreach (var member in _config.Members)
        {
            if (member.TakesNewRequests && (member.Index >= 64 || (tried & (1UL << member.Index)) == 0))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Gives back a slot and lets one queued request try again.</summary>
    public void Release(Upstream upstream)
    {
        upstream.Release();
        while (_waiters.TryDequeue(out var waiter))
        {
            if (waiter.TrySetResult())
            {
                return;
            }
        }
    }

    /// <summary>One pick; full is true when some server could take the request but for its limit.</summary>
    private (Upstream? Upstream, bool Full) TryAcquire(HttpContext? context, ulong tried)
    {
        var config = _config;
        var members = config.Members;
        var limit = config.Backend.MaxRequestsPerServer;
        var candidates = ArrayPool<Upstream>.Shared.Rent(members.Length);
        var weights = ArrayPool<double>.Shared.Rent(members.Length);
        try
        {
            // A few rounds: another request may take the last slot of the chosen server first.
            for (var round = 0; round < 4; round++)
            {
                var count = 0;
                var full = false;
                foreach (var member in members)
                {
                    if (!member.TakesNewRequests || (member.Index < 64 && (tried & (1UL << member.Index)) != 0))
                    {
                        continue;
                    }

                    if (limit > 0 && member.ActiveRequests >= limit)
                    {
                        full = true;
                        continue;
                    }

                    candidates[count] = member;
                    weights[count] = member.EffectiveWeight(_time, config.Backend.SlowStart);
                    count++;
                }

                if (count == 0)
                {
                    return (null, full);
                }

                var chosen = config.Policy.Pick(context, candidates.AsSpan(0, count), weights.AsSpan(0, count));
                if (chosen < 0)
                {
                    return (null, full);
                }

                if (candidates[chosen].TryAcquire(limit))
                {
                    return (candidates[chosen], false);
                }
            }

            return (null, true);
        }
        finally
        {
            ArrayPool<Upstream>.Shared.Return(candidates, clearArray: true);
            ArrayPool<double>.Shared.Return(weights);
        }
    }

    /// <summary>One generation of the backend: replaced whole on reload, so a request sees one consistent view.</summary>
    private sealed record Configuration(
        BackendSpec Backend, ImmutableArray<Upstream> Members, FrozenDictionary<string, Upstream> ByName, IBalancingPolicy Policy)
    {
        public static Configuration Create(ImmutableArray<Upstream> members, BackendSpec backend, PolicyFactory policies, Random random) => new(
            backend,
            members,
            members.ToFrozenDictionary(m => m.Name, StringComparer.Ordinal),
            policies(backend, members, random));
    }
}
