using Prometheus;
using Strata.Cluster.Election;

namespace Strata.LoadBalancer.Vip;

/// <summary>The VRRP state of this load balancer in its /metrics, read from <see cref="VipStatus"/> at scrape time.</summary>
internal static class VipMetrics
{
    public static void Register(CollectorRegistry registry, string node, VipStatus status)
    {
        var factory = Metrics.WithCustomRegistry(registry);
        var master = factory.CreateGauge("strata_vrrp_master", "1 while this load balancer is VRRP master, else 0.", "node").WithLabels(node);
        var listening = factory.CreateGauge("strata_vrrp_listening", "1 while this load balancer listens on the VIP, else 0.", "node").WithLabels(node);
        var priority = factory.CreateGauge("strata_vrrp_priority", "The VRRP priority this load balancer advertises now.", "node").WithLabels(node);
        var transitions = factory.CreateGauge(
            "strata_vrrp_transitions", "State changes since this load balancer started, by the state entered.", "node", "to");
        registry.AddBeforeCollectCallback(() =>
        {
            master.Set(status.State == VipState.Master ? 1 : 0);
            listening.Set(status.HoldsVip ? 1 : 0);
            priority.Set(status.Priority);
            transitions.WithLabels(node, "master").Set(status.BecameMasterCount);
            transitions.WithLabels(node, "backup").Set(status.BecameBackupCount);
        });
    }
}
