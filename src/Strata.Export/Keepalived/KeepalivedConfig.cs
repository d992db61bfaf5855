using Strata.Topology;
using static Strata.Export.ConfigWriter;

namespace Strata.Export.Keepalived;

/// <summary>
/// keepalived-NODE.conf, one per load balancer (their priorities and addresses differ): the VRRPv3 instance that
/// holds the VIP with Strata's router id, priorities, advert interval and preemption, and a check script on HAProxy's
/// /readyz that costs <c>vip.trackWeight</c> while no web server is up, as Strata's tracking does.
/// </summary>
public static class KeepalivedConfig
{
    /// <summary>The interface named when the topology runs on loopback (keepalived refuses VRRP on lo).</summary>
    public const string PlaceholderInterface = "eth0";

    public static string FileName(NodeSpec loadBalancer) => $"keepalived-{loadBalancer.Name}.conf";

    public static IReadOnlyList<ExportedFile> Write(Topology.Topology topology) =>
        [.. topology.LoadBalancers.Select(node => new ExportedFile(FileName(node), Write(topology, node)))];

    private static string Write(Topology.Topology topology, NodeSpec node)
    {
        var vrrp = topology.Vrrp;
        var loopback = vrrp.Interface is null;
        var w = new ConfigWriter();
        List<string> approximate =
        [
            "vip.trackWeight: a vrrp_script on HAProxy's /readyz (see haproxy.cfg, frontend management) with weight -trackWeight; "
                + "Strata tracks its web servers' state directly, keepalived polls every second.",
        ];
        if (vrrp.NotifyCommand is not null)
        {
            approximate.Add("vip.notify: notify_master/notify_backup/notify_stop with Strata's arguments (STATE NODE VIP PRIORITY), "
                + "PRIORITY being the configured one, not the tracked one.");
        }

        List<string> missing = ["vip.port: keepalived speaks VRRP as IP protocol 112, never over UDP."];
        if (vrrp.ActiveActive)
        {
            missing.Add("vip.mode active-active: keepalived moves the address to one master; every HAProxy may bind it "
                + "(ip_nonlocal_bind), but only the master receives its traffic.");
        }

        if (loopback)
        {
            missing.Add($"loopback mode (no vip.interface): keepalived refuses VRRP on lo; `interface {PlaceholderInterface}` below is a placeholder "
                + "for the interface the load balancers share, and adverts go unicast to the peers' addresses.");
        }

        w.Header(
            topology.SourcePath,
            "strata export keepalived",
            $"keepalived for {node.Name}, one of the load balancers sharing the VIP {topology.Vip.Address} "
                + $"({string.Join(", ", topology.LoadBalancers.Select(n => n.Name))}, a file each).",
            approximate,
            missing);

        w.Open("global_defs");
        w.Line($"router_id {node.Name}");
        w.Comment("VRRPv3 (RFC 5798), as Strata: it allows the sub-second advert_int below.");
        w.Line("vrrp_version 3");
        w.Line("enable_script_security");
        w.Line("script_user root");
        w.Close();
        w.Line();

        w.Comment("HAProxy's /readyz on this node's management address fails while no web server is up (or HAProxy is down).");
        w.Open("vrrp_script strata_haproxy");
        w.Line($"script \"/usr/bin/curl -fsS -o /dev/null --max-time 1 http://{node.Management}/readyz\"");
        w.Line("interval 1");
        w.Line("timeout 1");
        w.Line("fall 1");
        w.Line("rise 1");
        w.Line(Invariant($"weight -{vrrp.TrackWeight}"));
        w.Close();
        w.Line();

        w.Open("vrrp_instance strata");
        w.Comment("Every node starts as BACKUP; the election decides, as in Strata.");
        w.Line("state BACKUP");
        w.Line($"interface {vrrp.Interface ?? PlaceholderInterface}");
        w.Line(Invariant($"virtual_router_id {vrrp.RouterId}"));
        w.Line(Invariant($"priority {node.Priority}"));
        w.Line("advert_int " + Seconds(vrrp.AdvertInterval));
        if (!vrrp.Preempt)
        {
            w.Line("nopreempt");
        }
        else if (vrrp.PreemptDelay > TimeSpan.Zero)
        {
            w.Line("preempt_delay " + Seconds(vrrp.PreemptDelay));
        }

        if (loopback)
        {
            w.Line($"unicast_src_ip {node.Address.Address}");
            w.Open("unicast_peer");
            foreach (var peer in topology.LoadBalancers.Where(n => n.Name != node.Name))
            {
                w.Line($"{peer.Address.Address} # {peer.Name}");
            }

            w.Close();
        }

        w.Open("virtual_ipaddress");
        w.Line($"{topology.Vip.Address}/32");
        w.Close();
        w.Open("track_script");
        w.Line("strata_haproxy");
        w.Close();
        if (vrrp.NotifyCommand is { } notify)
        {
            foreach (var (hook, state) in new[] { ("notify_master", "MASTER"), ("notify_backup", "BACKUP"), ("notify_stop", "STOPPED") })
            {
                w.Line(Invariant($"{hook} \"{notify} {state} {node.Name} {topology.Vip} {node.Priority}\""));
            }
        }

        w.Close();
        return w.ToString();
    }
}
