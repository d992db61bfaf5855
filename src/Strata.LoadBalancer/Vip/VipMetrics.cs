using Prometheus;
using Strata.Cluster.Election;
using Strata.Hosting.Metrics;
using Strata.Proxy.Clients.Connections;

namespace Strata.LoadBalancer.Vip;

/// <summary>The VRRP state of this load balancer and its VIP in its /metrics, read at scrape time.</summary>
internal static class VipMetrics
{
    /// <summary>
    /// The VRRP state from <see cref="VipStatus"/>: <c>strata_vrrp_master</c>, <c>strata_vrrp_listening</c>,
    /// <c>strata_vrrp_priority</c> and <c>strata_vrrp_transitions_total{to="master"|"backup"}</c>.
    /// </summary>
    public static void Register(NodeMetrics metrics, VipStatus status)
    {
        var factory = metrics.Factory;
        var master = factory.CreateGauge("strata_vrrp_master", "1 while this load balancer is VRRP master, else 0.");
        var listening = factory.CreateGauge("strata_vrrp_listening", "1 while this load balancer listens on the VIP, else 0.");
        var priority = factory.CreateGauge("strata_vrrp_priority", "The VRRP priority this load balancer advertises now.");
        var transitions = factory.CreateCounter(
            "strata_vrrp_transitions_total", "State changes since this load balancer started, by the state entered.", "to");
        var toMaster = transitions.WithLabels("master");
        var toBackup = transitions.WithLabels("backup");
        metrics.Registry.AddBeforeCollectCallback(() =>
        {
            master.Set(status.State == VipState.Master ? 1 : 0);
            listening.Set(status.HoldsVip ? 1 : 0);
            priority.Set(status.Priority);
            toMaster.IncTo(status.BecameMasterCount);
            toBackup.IncTo(status.BecameBackupCount);
        });
    }

    /// <summary>
    /// The VIP's client connections now (<c>strata_vip_connections</c>) and those refused by its limits
    /// (<c>strata_vip_connections_refused_total</c>, by reason: <c>max</c> or <c>per_client</c>), read at scrape time.
    /// </summary>
    public static void RegisterConnections(NodeMetrics metrics, ConnectionLimiter limiter)
    {
        var factory = metrics.Factory;
        var current = factory.CreateGauge("strata_vip_connections", "Client connections the VIP holds on this load balancer now.");
        var refused = factory.CreateCounter(
            "strata_vip_connections_refused_total", "Client connections refused by vip.maxConnections (max) or vip.maxConnectionsPerClient (per_client).", "reason");
        var full = refused.WithLabels("max");
        var perClient = refused.WithLabels("per_client");
        metrics.Registry.AddBeforeCollectCallback(() =>
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
    public static void RegisterCertificates(NodeMetrics metrics, VipCertificates certificates, TimeProvider time)
    {
        var expiry = metrics.Factory.CreateGauge(
            "strata_tls_certificate_expiry_seconds", "Seconds until the VIP's certificate expires, by the names it serves.", "names");
        metrics.Registry.AddBeforeCollectCallback(() =>
        {
            var now = time.GetUtcNow().UtcDateTime;
            var served = certificates.Certificates;
            foreach (var labels in expiry.GetAllLabelValues().Where(l => !served.Any(c => c.Names == l[0])).ToList())
            {
                // A certificate rotated away: its series goes.
                expiry.RemoveLabelled(labels);
            }

            foreach (var (names, notAfter) in served)
            {
                expiry.WithLabels(names).Set((notAfter - now).TotalSeconds);
            }
        });
    }
}
