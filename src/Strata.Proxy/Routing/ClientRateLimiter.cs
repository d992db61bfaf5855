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

    private static readonly ulong HashKey = (ulong)Random.Shared.NextInt64();

    private readonly Bucket[] _buckets = new Bucket[Slots];
    private readonly long _ticksPerToken = Math.Max(1, TimeSpan.TicksPerSecond / rule.Rate);
    private readonly long _full = rule.Burst * Math.Max(1, TimeSpan.TicksPerSecond / rule.Rate);

    /// <summary>Takes a token for <paramref name="client"/> at <paramref name="nowTicks"/>; false, with the seconds until the next one, when none is left.</summary>
    public bool TryTake(IPAddress client, long nowTicks, out int retryAfterSeconds)
    {
        var key = Key(client);
        ref var bucket = ref _buckets[(int)(key % Slots)];
        lock (_buckets)
        {
            // The bucket as "the time it is empty until": full when that is at least a whole burst in the past.
            var emptyUntil = bucket.EmptyUntil;
            if (bucket.Key != key && nowTicks - emptyUntil >= _full)
            {
                bucket.Key = key;
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
            return true;
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
    }
}
