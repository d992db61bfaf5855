using System.Text.Json;
using Strata.Topology;

namespace Strata.Export.Prometheus;

/// <summary>
/// prometheus.yml: Prometheus's scrape configuration for the topology, a job per tier (<c>strata-dns</c>,
/// <c>strata-lb</c>, <c>strata-web</c>, <c>strata-app</c> and, with a managed database, <c>strata-db</c>) and a target
/// per node, its management address's /metrics, labelled with <c>node</c> and <c>tier</c> as the node labels its own
/// series (so <c>up</c>, which Prometheus makes itself, carries them too). Every node is in it, whatever the tier.
/// </summary>
/// <remarks>
/// Written line by line (a small, fixed shape) with every string double-quoted as JSON, which YAML reads as is; checked
/// by the real <c>promtool check config</c> in the tests.
/// </remarks>
public static class PrometheusConfig
{
    public const string FileName = "prometheus.yml";

    /// <summary>How often Prometheus scrapes each node.</summary>
    public static readonly TimeSpan ScrapeInterval = TimeSpan.FromSeconds(15);

    /// <summary>The job of a tier's nodes, e.g. strata-web.</summary>
    public static string JobName(NodeRole role) => "strata-" + role.ShortName();

    public static string Write(Topology.Topology topology)
    {
        var w = new ConfigWriter(indentWidth: 2);
        w.Header(
            topology.SourcePath,
            "strata export prometheus",
            "Prometheus's scrape configuration: a job per tier, each node's /metrics on its management address "
                + "(docs/observability.md; the Grafana dashboard docs/grafana/strata.json reads what it collects).\n"
                + "Check it with `promtool check config prometheus.yml`, run it with `prometheus --config.file=prometheus.yml`.",
            approximate: [],
            missing: []);

        var interval = ConfigWriter.Duration(ScrapeInterval);
        w.Line("global:").Indent();
        w.Line($"scrape_interval: {interval}");
        w.Line($"evaluation_interval: {interval}");
        w.Outdent().Line();
        w.Line("scrape_configs:").Indent();
        foreach (var tier in topology.AllNodes.GroupBy(n => n.Role))
        {
            // A list item's keys line up after its "- ".
            w.Line($"- job_name: {Quote(JobName(tier.Key))}").Indent();
            w.Line($"metrics_path: {Quote("/metrics")}");
            w.Comment("The nodes label their own series with node and tier: kept as they are.");
            w.Line("honor_labels: true");
            w.Line("static_configs:").Indent();
            foreach (var node in tier)
            {
                w.Line($"- targets: [{Quote(node.Management.ToString())}]").Indent();
                w.Line("labels:").Indent();
                w.Line($"node: {Quote(node.Name)}");
                w.Line($"tier: {Quote(node.Role.ShortName())}");
                w.Outdent().Outdent();
            }

            w.Outdent().Outdent();
        }

        return w.Outdent().ToString();
    }

    private static string Quote(string value) => JsonSerializer.Serialize(value);
}
