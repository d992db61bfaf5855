using System.Net;
using Strata.Topology;

namespace Strata.Proxy.Routing;

/// <summary>
/// A <see cref="RateLimitRule"/>'s state: a token bucket per client address (<see cref="RateLimitRule.Burst"/> tokens,
/// refilled at <see cref="RateLimitRule.Rate"/> per second, one per request), as nginx's <c>limit_req … burst nodelay</c>.
/// </summary>
/// <remarks>
/// Bounded in memory whatever the number of addresses, as HAProxy's stick table <c>size</c> and nginx's zone size:
/// <see cref="Slots"/> buckets (1 MiB), the address hashed to one (a keyed hash, so a client cannot choose its
/// neighbours). A slot held by another address is taken over once that address's bucket has refilled (it has nothing
/// to remember); until then the two share it, which can only make a client limited sooner, never later. Written by hand:
/// System.Threading.RateLimiting's partitioned limiter keeps a limiter object per key with no bound on their number.
/// </remarks>
internal sealed class ClientRateLimiter(RateLimitRule rule)
{
    /// <summary>Buckets per rule.</summary>
    public const int Slots = 65_536;

    /// <summary>Addresses noted for the peers between two collections at most (<see cref="RateLimitTables"/>); beyond, dropped.</summary>
    private const int MaxTouched = 4096;

    private static readonly ulong HashKey = (ulong)Random.Shared.NextInt64();

    private readonly Bucket[] _buckets = new Bucket[Slots];
    private readonly long _ticksPerToken = Math.Max(1, TimeSpan.TicksPerSecond / rule.Rate);
    private readonly long _full = rule.Burst * Math.Max(1, TimeSpan.TicksPerSecond / rule.Rate);
    private readonly System.Collections.Concurrent.ConcurrentQueue<IPAddress> _touched = new();
    private int _touchedCount;

    /// <summary>The rule this limiter enforces.</summary>
    public RateLimitRule Rule => rule;

    /// <summary>
    /// Whether addresses whose bucket is less than half full are noted for the peers (the other load balancers, which
    /// then hold the same budget): set while a peer sync runs, so that a node without peers pays nothing.
    /// </summary>
    public bool Shared { get; set; }

    /// <summary>Takes a token for <paramref name="client"/> at <paramref name="nowTicks"/>; false, with the seconds until the next one, when none is left.</summary>
    public bool TryTake(IPAddress client, long nowTicks, out int retryAfterSeconds)
    {
        var key = Key(client);
        ref var bucket = ref _buckets[(int)(key % Slots)];
        long left;
        lock (_buckets)
        {
            // The bucket as "the time it is empty until": full when that is at least a whole burst in the past.
            var emptyUntil = bucket.EmptyUntil;
            if (bucket.Key != key && nowTicks - emptyUntil >= _full)
            {
                bucket.Key = key;
                bucket.Client = client;
            }

            var start = Math.Max(emptyUntil, nowTicks - _full);
            var next = start + _ticksPerToken;
            if (next > nowTicks)
            {
                retryAfterSeconds = (int)Math.Ceiling((double)(next - nowTicks) / TimeSpan.TicksPerSecond);
                return false;
            }

            bucket.EmptyUntil = next;
            retryAfterSeconds = 0;
            left = nowTicks - next;
        }

        // Only clients that have spent half their budget matter to the peers: most clients never get here.
        if (Shared && left < _full / 2)
        {
            Touch(client);
        }

        return true;
    }

    /// <summary>Moves the addresses noted since the last call into <paramref name="into"/>, with the ticks of budget each has left.</summary>
    public void Collect(long nowTicks, List<(IPAddress Address, long Available)> into)
    {
        while (_touched.TryDequeue(out var address))
        {
            Interlocked.Decrement(ref _touchedCount);
            into.Add((address, Available(address, nowTicks)));
        }
    }

    /// <summary>
    /// Takes a peer's word that <paramref name="client"/> has only <paramref name="available"/> ticks of budget left: the
    /// bucket keeps whichever of its own and the peer's is emptier, so a client is never given more than either allowed.
    /// </summary>
    public void Merge(IPAddress client, long available, long nowTicks)
    {
        var key = Key(client);
        ref var bucket = ref _buckets[(int)(key % Slots)];
        var emptyUntil = nowTicks - Math.Clamp(available, 0, _full);
        lock (_buckets)
        {
            if (bucket.Key != key && nowTicks - bucket.EmptyUntil >= _full)
            {
                bucket.Key = key;
                bucket.Client = client;
                bucket.EmptyUntil = emptyUntil;
            }
            else
            {
                bucket.EmptyUntil = Math.Max(bucket.EmptyUntil, emptyUntil);
            }
        }
    }

    /// <summary>Adds to <paramref name="into"/> every client whose budget is not whole (what a peer that has just connected needs).</summary>
    public void CollectAll(long nowTicks, List<(IPAddress Address, long Available)> into)
    {
        lock (_buckets)
        {
            foreach (var bucket in _buckets)
            {
                if (bucket.Client is { } client && nowTicks - bucket.EmptyUntil < _full)
                {
                    into.Add((client, Math.Max(0, nowTicks - bucket.EmptyUntil)));
                }
            }
        }
    }

    /// <summary>The ticks of budget <paramref name="client"/> has left (a whole burst when its slot holds another address).</summary>
    private long Available(IPAddress client, long nowTicks)
    {
        var key = Key(client);
        ref var bucket = ref _buckets[(int)(key % Slots)];
        lock (_buckets)
        {
            return bucket.Key == key ? Math.Clamp(nowTicks - bucket.EmptyUntil, 0, _full) : _full;
        }
    }

    private void Touch(IPAddress client)
    {
        if (Interlocked.Increment(ref _touchedCount) <= MaxTouched)
        {
            _touched.Enqueue(client);
        }
        else
        {
            Interlocked.Decrement(ref _touchedCount);
        }
    }

    private static ulong Key(IPAddress client)
    {
        Span<byte> bytes = stackalloc byte[16];
        var address = client.IsIPv4MappedToIPv6 ? client.MapToIPv4() : client;
        address.TryWriteBytes(bytes, out var length);
        var hash = System.IO.Hashing.XxHash64.HashToUInt64(bytes[..length], (long)HashKey);
        return hash;
    }

    private struct Bucket
    {
        public ulong Key;
        public long EmptyUntil;

        /// <summary>The address of <see cref="Key"/>, for a peer's full copy (the connection already holds it: no allocation).</summary>
        public IPAddress? Client;
    }
}
