using Prometheus;
using Strata.Cluster.Election;
using Strata.Proxy.Clients.Connections;

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

    /// <summary>
    /// The VIP's client connections now (<c>strata_vip_connections</c>) and those refused by its limits
    /// (<c>strata_vip_connections_refused_total</c>, by reason: <c>max</c> or <c>per_client</c>), read at scrape time.
    /// </summary>
    public static void RegisterConnections(CollectorRegistry registry, string node, ConnectionLimiter limiter)
    {
        var factory = Metrics.WithCustomRegistry(registry);
        var current = factory.CreateGauge("strata_vip_connections", "Client connections the VIP holds on this load balancer now.", "node").WithLabels(node);
        var refused = factory.CreateCounter(
            "strata_vip_connections_refused_total", "Client connections refused by vip.maxConnections (max) or vip.maxConnectionsPerClient (per_client).", "node", "reason");
        var full = refused.WithLabels(node, "max");
        var perClient = refused.WithLabels(node, "per_client");
        registry.AddBeforeCollectCallback(() =>
        {
            current.Set(limiter.Current);
            full.IncTo(limiter.RefusedFull);
            perClient.IncTo(limiter.RefusedPerClient);
        });
    }

    /// <summary>
    /// Seconds until each served certificate expires (<c>strata_tls_certificate_expiry_seconds</c>, labelled by its names),
    /// read from <see cref="VipCertificates"/> at scrape time, so a rotation shows at the next scrape; negative once expired.
    /// </summary>
    public static void RegisterCertificates(CollectorRegistry registry, string node, VipCertificates certificates, TimeProvider time)
    {
        var expiry = Metrics.WithCustomRegistry(registry).CreateGauge(
            "strata_tls_certificate_expiry_seconds", "Seconds until the VIP's certificate expires, by the names it serves.", "node", "names");
        registry.AddBeforeCollectCallback(() =>
        {
            var now = time.GetUtcNow().UtcDateTime;
            var served = certificates.Certificates;
            foreach (var labels in expiry.GetAllLabelValues().Where(l => !served.Any(c => c.Names == l[1])).ToList())
            {
                // A certificate rotated away: its series goes.
                expiry.RemoveLabelled(labels);
            }

            foreach (var (names, notAfter) in served)
            {
                expiry.WithLabels(node, names).Set((notAfter - now).TotalSeconds);
            }
        });
    }
}
