using System.Net;
using Microsoft.Extensions.Logging;
using Strata.Dns.Server;
using Strata.Topology;

namespace Strata.Dns.RateLimiting;

/// <summary>
/// Response rate limiting over UDP per client network, as BIND's <c>rate-limit</c>: an account per network (/24, /56)
/// credited <see cref="DnsRateLimitSpec.ResponsesPerSecond"/> a second up to one second's worth, debited one per
/// response; at zero a response is limited, and the account goes on into debt down to a window's worth, so a network
/// that keeps flooding stays limited until it has been quiet long enough to pay it back. Of the limited responses every
/// <see cref="DnsRateLimitSpec.Slip"/>-th is sent truncated (a real client then asks over TCP, which is never limited);
/// the others are dropped, so a forged source gets nothing larger than its query back.
/// </summary>
/// <remarks>
/// Bounded in memory whatever the number of sources: <see cref="DnsRateLimitSpec.TableSize"/> accounts allocated once
/// (32 bytes each: 2 MiB by default), the network hashed to one (HashCode is seeded per process, so a client cannot
/// choose its neighbours). An account held by another network is taken over once that one is full again (nothing to
/// remember); until then the two share it, which can only limit them sooner, never later. Written by hand:
/// System.Threading.RateLimiting's partitioned limiter keeps a limiter per key with no bound on their number, and has
/// neither the debt nor the slip of BIND's algorithm.
/// </remarks>
internal sealed class ResponseRateLimiter
{
    /// <summary>Networks whose limiting is logged per window at most; one more line says that others were not.</summary>
    public const int LoggedNetworksPerWindow = 10;

    private readonly DnsRateLimitSpec _spec;
    private readonly string _node;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly long _started;
    private readonly long _ticksPerResponse;
    private readonly long _window;
    private readonly Account[] _accounts;
    private long _loggedSince;
    private int _logged;

    public ResponseRateLimiter(DnsRateLimitSpec spec, string node, ILogger<ResponseRateLimiter> logger, TimeProvider time)
    {
        _spec = spec;
        _node = node;
        _logger = logger;
        _time = time;
        _started = time.GetTimestamp();
        _ticksPerResponse = spec.ResponsesPerSecond > 0 ? TimeSpan.TicksPerSecond / spec.ResponsesPerSecond : 0;
        _window = spec.Window.Ticks;
        _accounts = spec.ResponsesPerSecond > 0 ? new Account[spec.TableSize] : [];
        _loggedSince = -_window;
    }

    /// <summary>Networks with an account: never more than <see cref="DnsRateLimitSpec.TableSize"/>.</summary>
    public int TrackedNetworks
    {
        get
        {
            lock (_accounts)
            {
                return _accounts.Count(a => a.Key != 0);
            }
        }
    }

    /// <summary>Debits the network of <paramref name="client"/> for one UDP response and says what becomes of it.</summary>
    public RateLimitVerdict Check(IPAddress client)
    {
        if (_accounts.Length == 0)
        {
            return RateLimitVerdict.Send;
        }

        Span<byte> buffer = stackalloc byte[16];
        var (length, prefixLength) = Network(client, buffer);
        var network = buffer[..length];
        var hash = default(HashCode);
        hash.AddBytes(network);
        var key = Math.Max(1u, (uint)hash.ToHashCode()); // never 0, the mark of a free account

        var now = _time.GetElapsedTime(_started).Ticks;
        RateLimitVerdict verdict;
        bool logNetwork, logOverflow = false;
        lock (_accounts)
        {
            ref var account = ref _accounts[key % (uint)_accounts.Length];

            // The account as "the time its balance is zero": full (one second's responses) when that is a second or more ago.
            var full = now - TimeSpan.TicksPerSecond;
            if (account.Key != key && (account.Key == 0 || account.EmptyUntil <= full))
            {
                account = new Account { Key = key, EmptyUntil = full, LoggedAt = now - _window };
            }

            var emptyUntil = Math.Max(account.EmptyUntil, full) + _ticksPerResponse;
            account.EmptyUntil = Math.Min(emptyUntil, now + _window);
            if (emptyUntil <= now)
            {
                account.Limited = false;
                return RateLimitVerdict.Send;
            }

            verdict = RateLimitVerdict.Drop;
            if (_spec.Slip > 0 && ++account.Slipped >= _spec.Slip)
            {
                account.Slipped = 0;
                verdict = RateLimitVerdict.Slip;
            }

            // Logged when a network becomes limited, at most once a window per network and a few networks a window in all.
            logNetwork = !account.Limited && now - account.LoggedAt >= _window;
            account.Limited = true;
            if (logNetwork)
            {
                account.LoggedAt = now;
                if (now - _loggedSince >= _window)
                {
                    _loggedSince = now;
                    _logged = 0;
                }

                logOverflow = ++_logged == LoggedNetworksPerWindow + 1;
                logNetwork = _logged <= LoggedNetworksPerWindow;
            }
        }

        if (logNetwork)
        {
            var address = new IPAddress(network);
            DnsServerLog.RateLimitingStarted(_logger, _node, new IPNetwork(address, prefixLength), _spec.ResponsesPerSecond);
        }
        else if (logOverflow)
        {
            DnsServerLog.RateLimitingManyNetworks(_logger, _node, LoggedNetworksPerWindow, (int)_spec.Window.TotalSeconds);
        }

        return verdict;
    }

    /// <summary>Writes the client's network (its address with the host bits cleared): its length in bytes and its prefix length.</summary>
    private (int Length, int PrefixLength) Network(IPAddress client, Span<byte> network)
    {
        var address = client.IsIPv4MappedToIPv6 ? client.MapToIPv4() : client;
        address.TryWriteBytes(network, out var length);
        var prefixLength = length == 4 ? _spec.Ipv4PrefixLength : _spec.Ipv6PrefixLength;
        for (var i = 0; i < length; i++)
        {
            var kept = Math.Clamp(prefixLength - (i * 8), 0, 8);
            network[i] &= (byte)(0xFF << (8 - kept));
        }

        return (length, prefixLength);
    }

    private struct Account
    {
        public uint Key;
        public bool Limited;
        public int Slipped;
        public long EmptyUntil;
        public long LoggedAt;
    }
}
