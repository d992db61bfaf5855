using System.Collections.Immutable;
using System.Text.RegularExpressions;

namespace Strata.Topology;

/// <summary>The checks of the vip section: the VRRP election.</summary>
internal sealed partial class TopologyValidator
{
    private VrrpSpec Vrrp(VipOptions? vip, ImmutableArray<NodeSpec> loadBalancers)
    {
        var defaults = VrrpSpec.Default;
        if (vip is null)
        {
            return defaults;
        }

        var spec = new VrrpSpec(
            InRange(vip.RouterId ?? defaults.RouterId, "vip.routerId", 1, 255),
            TimeSpan.FromMilliseconds(10 * InRange(vip.AdvertIntervalCs ?? 10, "vip.advertIntervalCs", 1, 4095)),
            vip.Preempt ?? defaults.Preempt,
            Milliseconds(vip.PreemptDelayMs, defaults.PreemptDelay, "vip.preemptDelayMs", min: 0),
            InRange(vip.Port ?? defaults.Port, "vip.port", 1, 65535),
            InRange(vip.TrackWeight ?? defaults.TrackWeight, "vip.trackWeight", 1, 254),
            ActiveActive: vip.Mode == "active-active",
            NotifyCommand: vip.Notify is null ? null : Path.GetFullPath(Path.Combine(_baseDirectory, vip.Notify)),
            Interface: vip.Interface);
        if (vip.Interface is { } iface && !InterfaceName().IsMatch(iface))
        {
            Error("vip.interface", $"'{iface}' is not an interface name (1-15 characters: letters, digits, '.', '-', '_')");
        }

        if (vip.Interface is not null && spec.ActiveActive)
        {
            Error("vip.mode", "active-active shares one listening port on one host; with vip.interface (a host per load balancer) only the master can hold the address: use active-passive");
        }

        if (vip.Mode is not (null or "active-passive" or "active-active"))
        {
            Error("vip.mode", $"'{vip.Mode}' is not a mode; the modes are: active-passive, active-active");
        }

        if (spec.NotifyCommand is { } notify && !File.Exists(notify))
        {
            Error("vip.notify", $"'{notify}' does not exist");
        }
        if (loadBalancers.Length > 1)
        {
            // keepalived#2485: a weight that cannot cross the gap leaves the VIP on a node that cannot serve.
            var highest = loadBalancers.MaxBy(n => n.Priority)!;
            var lowest = loadBalancers.MinBy(n => n.Priority)!;
            var gap = highest.Priority - lowest.Priority;
            if (spec.TrackWeight <= gap)
            {
                Error("vip.trackWeight", $"{spec.TrackWeight} cannot move the VIP: {highest.Name} (priority {highest.Priority}) would stay above {lowest.Name} ({lowest.Priority}) while it cannot serve; use more than {gap}");
            }
        }

        return spec;
    }

    [GeneratedRegex(@"^[A-Za-z0-9._-]{1,15}$")]
    private static partial Regex InterfaceName();
}
