using System.Collections.Frozen;
using Strata.Export.Haproxy;
using Strata.Export.Keepalived;
using Strata.Export.Nginx;
using Strata.Export.Prometheus;

namespace Strata.Export;

/// <summary>
/// The classic stack's configuration for a topology (<c>strata export TARGET</c>): HAProxy for the load balancers,
/// nginx for the web nodes, keepalived for the VIP, and Prometheus's scrape configuration for every node. Each target is a function of the topology alone, but HAProxy's
/// certificate files, which are the topology's (vip.tls) read into the form HAProxy wants.
/// </summary>
public static class ExportTargets
{
    /// <summary>HAProxy: one haproxy.cfg both load balancers share (and vip-tls-N.pem with vip.tls).</summary>
    public const string Haproxy = "haproxy";

    /// <summary>nginx: one nginx.conf with a server per web node.</summary>
    public const string Nginx = "nginx";

    /// <summary>keepalived: one keepalived-NODE.conf per load balancer.</summary>
    public const string Keepalived = "keepalived";

    /// <summary>Prometheus: one prometheus.yml that scrapes every node.</summary>
    public const string Prometheus = "prometheus";

    /// <summary>Every target, in the order the usage lists them.</summary>
    public static readonly IReadOnlyList<string> All = [Haproxy, Nginx, Keepalived, Prometheus];

    private static readonly FrozenDictionary<string, Func<Topology.Topology, ExportSettings, IReadOnlyList<ExportedFile>>> Exporters =
        new Dictionary<string, Func<Topology.Topology, ExportSettings, IReadOnlyList<ExportedFile>>>(StringComparer.OrdinalIgnoreCase)
        {
            [Haproxy] = HaproxyConfig.Files,
            [Nginx] = (topology, settings) => [new(NginxConfig.FileName, NginxConfig.Write(topology, settings))],
            [Keepalived] = (topology, _) => KeepalivedConfig.Write(topology),
            [Prometheus] = (topology, _) => [new(PrometheusConfig.FileName, PrometheusConfig.Write(topology))],
        }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    /// <summary>Whether <paramref name="target"/> names a target (case-insensitive).</summary>
    public static bool IsTarget(string target) => Exporters.ContainsKey(target);

    /// <summary>The files of <paramref name="target"/> for <paramref name="topology"/>.</summary>
    public static IReadOnlyList<ExportedFile> Export(string target, Topology.Topology topology, ExportSettings settings) =>
        Exporters.TryGetValue(target, out var export)
            ? export(topology, settings)
            : throw new ArgumentException($"'{target}' is not an export target; the targets are: {string.Join(", ", All)}", nameof(target));
}
