using System.Net;
using System.Net.Sockets;

namespace Strata.Cluster.Vrrp;

/// <summary>
/// The parameters of one virtual router on this node (RFC 5798 §6.1). Immutable: a change of configuration
/// builds a new state machine; only the priority changes at run time (health tracking, through
/// <c>VrrpStateMachine.SetPriority</c>).
/// </summary>
public sealed record VrrpOptions
{
    /// <summary>Default advertisement interval. The RFC's default is 1 s (§6.1); Strata's load balancers use
    /// 100 ms so the VIP moves in about a third of a second, as keepalived does with <c>advert_int 0.1</c>.</summary>
    public static readonly TimeSpan DefaultAdvertisementInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>VRID, 1–255, the same on every router of the group (§5.2.3, §6.1).</summary>
    public required int VirtualRouterId { get; init; }

    /// <summary>Priority, 1–254; 255 only on the router that owns the virtual addresses (§6.1). Higher wins.</summary>
    public int Priority { get; init; } = 100;

    /// <summary>This router's primary IPv4 address: the source of its adverts, and the tie-break when two
    /// masters have the same priority (§6.4.3: the greater address stays master).</summary>
    public required IPAddress PrimaryAddress { get; init; }

    /// <summary>The virtual IPv4 addresses carried in adverts (§5.2.9, §6.1 IPvX_Address(es)).</summary>
    public IReadOnlyList<IPAddress> VirtualAddresses { get; init; } = [];

    /// <summary>Advertisement_Interval (§6.1): how often the master advertises. Whole centiseconds,
    /// 10 ms–40.95 s, because the wire field counts centiseconds (§5.2.7).</summary>
    public TimeSpan AdvertisementInterval { get; init; } = DefaultAdvertisementInterval;

    /// <summary>Preempt_Mode (§6.1): whether a higher-priority backup takes over from a lower-priority master.</summary>
    public bool Preempt { get; init; } = true;

    /// <summary>
    /// With <see cref="Preempt"/>, how long after <c>Start</c> a higher-priority backup still defers to a
    /// lower-priority master (keepalived's <c>preempt_delay</c>: after startup only). Not in RFC 5798; it lets a
    /// restarted node settle (health checks, routes) before it takes the VIP back. Zero means preempt at once.
    /// </summary>
    public TimeSpan PreemptDelay { get; init; } = TimeSpan.Zero;

    /// <summary>Every problem with these options, each naming the setting; empty when they are valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (VirtualRouterId is < 1 or > 255)
        {
            errors.Add($"{nameof(VirtualRouterId)} {VirtualRouterId} must be 1–255 (RFC 5798 §5.2.3).");
        }

        if (Priority is < 1 or > 255)
        {
            errors.Add($"{nameof(Priority)} {Priority} must be 1–255; 255 means the address owner (RFC 5798 §6.1).");
        }

        if (PrimaryAddress is null || PrimaryAddress.AddressFamily != AddressFamily.InterNetwork)
        {
            errors.Add($"{nameof(PrimaryAddress)} '{PrimaryAddress}' must be an IPv4 address.");
        }

        if (VirtualAddresses.Count > 255)
        {
            errors.Add($"{nameof(VirtualAddresses)} has {VirtualAddresses.Count} addresses; an advert carries at most 255 (RFC 5798 §5.2.5).");
        }

        foreach (var address in VirtualAddresses)
        {
            if (address.AddressFamily != AddressFamily.InterNetwork)
            {
                errors.Add($"{nameof(VirtualAddresses)}: '{address}' must be an IPv4 address.");
            }
        }

        if (!VrrpAdvertisement.TryGetCentiseconds(AdvertisementInterval, out _))
        {
            errors.Add($"{nameof(AdvertisementInterval)} {AdvertisementInterval.TotalMilliseconds} ms must be a whole number of centiseconds between 10 ms and 40950 ms (RFC 5798 §5.2.7).");
        }

        if (PreemptDelay < TimeSpan.Zero)
        {
            errors.Add($"{nameof(PreemptDelay)} {PreemptDelay} must not be negative.");
        }

        return errors;
    }
}
