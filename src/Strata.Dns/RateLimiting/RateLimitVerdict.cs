namespace Strata.Dns.RateLimiting;

/// <summary>What becomes of one UDP response under <see cref="ResponseRateLimiter"/>.</summary>
internal enum RateLimitVerdict
{
    /// <summary>Within the network's rate: sent as built.</summary>
    Send,

    /// <summary>Limited: not sent at all.</summary>
    Drop,

    /// <summary>Limited, but the slip-th one: sent truncated (TC=1, no records), so a real client retries over TCP.</summary>
    Slip,
}
