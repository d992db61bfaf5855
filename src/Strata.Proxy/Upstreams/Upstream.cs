using Strata.Proxy.Forwarding.Http1;
using Strata.Topology;

namespace Strata.Proxy.Upstreams;

/// <summary>What an operator set for a server at run time (HAProxy's admin states).</summary>
public enum AdminState
{
    /// <summary>Takes traffic when healthy.</summary>
    Ready,

    /// <summary>No new requests (but those pinned to it by persistence); in-flight ones finish; checks go on.</summary>
    Drain,

    /// <summary>Out entirely: no requests at all, checks go on.</summary>
    Maintenance,
}

/// <summary>One server of a backend: its configuration, health, admin state and counters.</summary>
public sealed class Upstream
{
    private int _up;
    private int _adminState;
    private int _weight;
    private int _active;
    private long _requests;
    private long _failures;
    private int _consecutiveFailures;
    private long _upSinceTimestamp;

    internal Upstream(NodeSpec node, int index)
    {
        Node = node;
        Index = index;
        _weight = node.Weight;
        DestinationPrefix = $"http://{node.Address}/";
        Connections = new Http1ConnectionPool(node.Address);
    }

    /// <summary>The server.</summary>
    public NodeSpec Node { get; private set; }

    /// <summary>Its name.</summary>
    public string Name => Node.Name;

    /// <summary>Position in the backend, in topology order.</summary>
    public int Index { get; private set; }

    /// <summary>Base address requests are forwarded to, e.g. http://127.0.2.1:8080/.</summary>
    public string DestinationPrefix { get; }

    /// <summary>Its idle kept-alive connections (the forwarding path for requests without a body).</summary>
    internal Http1ConnectionPool Connections { get; }

    /// <summary>Whether checks (active and passive) say it works. A server starts DOWN until its checks pass.</summary>
    public bool IsUp => Volatile.Read(ref _up) == 1;

    /// <summary>What an operator set.</summary>
    public AdminState AdminState
    {
        get => (AdminState)Volatile.Read(ref _adminState);
        set => Volatile.Write(ref _adminState, (int)value);
    }

    /// <summary>Configured weight, 0–256; settable at run time.</summary>
    public int Weight
    {
        get => Volatile.Read(ref _weight);
        set => Volatile.Write(ref _weight, Math.Clamp(value, 0, 256));
    }

    /// <summary>Requests in flight now.</summary>
    public int ActiveRequests => Volatile.Read(ref _active);

    /// <summary>Requests sent to it since start.</summary>
    public long TotalRequests => Interlocked.Read(ref _requests);

    /// <summary>Requests that failed on it (connection failure, reset, timeout, 5xx other than 503).</summary>
    public long TotalFailures => Interlocked.Read(ref _failures);

    /// <summary>The last active check, or null before the first.</summary>
    public CheckResult? LastCheck { get; internal set; }

    /// <summary>UP, DOWN, DRAIN or MAINT, as HAProxy's stats page says it.</summary>
    public string StateName => AdminState switch
    {
        AdminState.Maintenance => "MAINT",
        AdminState.Drain => "DRAIN",
        _ => IsUp ? "UP" : "DOWN",
    };

    /// <summary>Whether it may take a new request that is not pinned to it.</summary>
    internal bool TakesNewRequests => IsUp && AdminState == AdminState.Ready && Weight > 0;

    /// <summary>Sets health; true when that changed it, so that one caller alone reports the change.</summary>
    internal bool TrySetUp(bool up, long timestamp)
    {
        if (Interlocked.Exchange(ref _up, up ? 1 : 0) == (up ? 1 : 0))
        {
            return false;
        }

        Volatile.Write(ref _upSinceTimestamp, up ? timestamp : 0);
        Volatile.Write(ref _consecutiveFailures, 0);
        return true;
    }

    /// <summary>
    /// Weight now, ramped over <paramref name="slowStart"/> after the server came back UP (never at the first
    /// UP after start, as HAProxy): from 1/20 of it to all of it.
    /// </summary>
    internal double EffectiveWeight(TimeProvider time, TimeSpan slowStart)
    {
        var weight = Weight;
        var since = Volatile.Read(ref _upSinceTimestamp);
        if (slowStart <= TimeSpan.Zero || since == 0 || weight == 0)
        {
            return weight;
        }

        var ramp = time.GetElapsedTime(since) / slowStart;
        return ramp >= 1 ? weight : weight * Math.Max(0.05, ramp);
    }

    /// <summary>Marks the first UP after start, which slow start does not ramp.</summary>
    internal void ClearSlowStart() => Volatile.Write(ref _upSinceTimestamp, 0);

    /// <summary>Takes the file's settings for this server on reload; its state and counters stay.</summary>
    internal void Reconfigure(NodeSpec node, int index)
    {
        Node = node;
        Index = index;
        Weight = node.Weight;
    }

    /// <summary>Takes a request slot if the server has room under <paramref name="limit"/> (0: no limit).</summary>
    internal bool TryAcquire(int limit)
    {
        while (true)
        {
            var active = Volatile.Read(ref _active);
            if (limit > 0 && active >= limit)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _active, active + 1, active) == active)
            {
                Interlocked.Increment(ref _requests);
                return true;
            }
        }
    }

    internal void Release() => Interlocked.Decrement(ref _active);

    /// <summary>Counts a failed request; returns the failures in a row.</summary>
    internal int RecordFailure()
    {
        Interlocked.Increment(ref _failures);
        return Interlocked.Increment(ref _consecutiveFailures);
    }

    internal void RecordSuccess()
    {
        if (Volatile.Read(ref _consecutiveFailures) != 0)
        {
            Volatile.Write(ref _consecutiveFailures, 0);
        }
    }
}

/// <summary>The outcome of one active check.</summary>
/// <param name="At">When it finished.</param>
/// <param name="Passed">Whether the server answered 2xx in time.</param>
/// <param name="Detail">"HTTP 200", "connection refused", "no answer within 2000 ms"...</param>
public sealed record CheckResult(DateTimeOffset At, bool Passed, string Detail);
