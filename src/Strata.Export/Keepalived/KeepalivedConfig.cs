using System.Globalization;
using System.Text;
using Strata.Topology;

namespace Strata.Export.Keepalived;

/// <summary>
/// One load balancer's keepalived 2.2 configuration: the same VRRPv3 group (router id, priority, advert interval,
/// preemption) holding the VIP, HAProxy's process tracked with the topology's track weight.
/// </summary>
internal static class KeepalivedConfig
{
    /// <summary>The interface written when the topology has none (loopback mode).</summary>
    public const string DefaultInterface = "eth0";

    public static string Render(Topology.Topology topology, NodeSpec node)
    {
        var vrrp = topology.Vrrp;
        var highest = topology.LoadBalancers.Max(lb => lb.Priority);
        // With no vip.interface Strata runs the group on loopback over unicast UDP; keepalived refuses lo, so the file
        // names eth0 with unicast peers: on real servers set vip.interface and export again.
        var device = vrrp.Interface ?? DefaultInterface;
        var text = new StringBuilder(ClassicExport.Header(topology, $"{node.Name}'s VRRP instance as keepalived 2.2"));
        text.Append(CultureInfo.InvariantCulture, $$"""

            global_defs {
                router_id {{node.Name}}
                vrrp_version 3
                script_user root
                enable_script_security
            }

            # Strata lowers the priority while no web node is up and ready; keepalived's nearest: HAProxy must run.
            vrrp_script haproxy {
                script "/usr/bin/pidof haproxy"
                interval 1
                fall 2
                rise 2
                weight -{{vrrp.TrackWeight}}
            }

            vrrp_instance strata_{{vrrp.RouterId}} {
                state {{(node.Priority == highest ? "MASTER" : "BACKUP")}}
                interface {{device}}
                virtual_router_id {{vrrp.RouterId}}
                priority {{node.Priority}}
                advert_int {{vrrp.AdvertInterval.TotalSeconds.ToString("0.##", CultureInfo.InvariantCulture)}}

            """);
        if (!vrrp.Preempt)
        {
            text.Append("    nopreempt\n");
        }
        else if (vrrp.PreemptDelay > TimeSpan.Zero)
        {
            text.Append(CultureInfo.InvariantCulture, $"    preempt_delay {(int)Math.Ceiling(vrrp.PreemptDelay.TotalSeconds)}\n");
        }

        if (vrrp.Interface is null)
        {
            text.Append(CultureInfo.InvariantCulture, $"    unicast_src_ip {node.Address.Address}\n    unicast_peer {{\n");
            foreach (var peer in topology.LoadBalancers.Where(lb => lb != node))
            {
                text.Append(CultureInfo.InvariantCulture, $"        {peer.Address.Address}\n");
            }

            text.Append("    }\n");
        }

        text.Append(CultureInfo.InvariantCulture, $$"""
                virtual_ipaddress {
                    {{topology.Vip.Address}}/32 dev {{device}}
                }
                track_script {
                    haproxy
                }

            """);
        if (vrrp.NotifyCommand is { } notify)
        {
            text.Append(CultureInfo.InvariantCulture, $"    notify \"{notify}\"\n");
        }

        text.Append("}\n");
        return text.ToString();
    }
}
