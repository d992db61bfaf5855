using Microsoft.Extensions.DependencyInjection;
using Prometheus;
using Strata.Topology;

namespace Strata.Hosting.Metrics;

/// <summary>
/// A node's Prometheus metrics, served at <c>GET /metrics</c> on its management address (<see cref="NodeHost.MapManagement"/>):
/// one registry per node (tests run several nodes in one process, and prometheus-net's static default registry would
/// mix them) whose every series carries the node's name and tier as static labels, <c>node="web-1",tier="web"</c>, so
/// that one query covers a tier or the whole topology, whoever scrapes. Names start with <c>strata_</c>; the process's
/// own (<c>process_cpu_seconds_total</c>, <c>process_start_time_seconds</c>...) are prometheus-net's.
/// </summary>
public sealed class NodeMetrics
{
    /// <summary>The path Prometheus scrapes.</summary>
    public const string Path = "/metrics";

    /// <summary>The labels every series has.</summary>
    public const string NodeLabel = "node";

    /// <inheritdoc cref="NodeLabel"/>
    public const string TierLabel = "tier";

    public NodeMetrics(NodeSpec node)
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        Registry.SetStaticLabels(new Dictionary<string, string>
        {
            [NodeLabel] = node.Name,
            [TierLabel] = node.Role.ShortName(),
        });
        Factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        DotNetStats.Register(Registry);
    }

    /// <summary>The registry /metrics exports.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Creates the node's metric families (in <see cref="Registry"/>, with the static labels).</summary>
    public MetricFactory Factory { get; }

    /// <summary>The status classes of <c>code</c> labels, "1xx".."5xx", indexed by <see cref="StatusClass"/>.</summary>
    public static readonly string[] StatusClasses = ["1xx", "2xx", "3xx", "4xx", "5xx"];

    /// <summary>The index of <paramref name="status"/>'s class in <see cref="StatusClasses"/>, clamped so a bad status never throws.</summary>
    public static int StatusClass(int status) => Math.Clamp(status / 100, 1, 5) - 1;

    /// <summary>Buckets of the request duration histograms: 1 ms to about 33 s, doubling.</summary>
    public static double[] DurationBuckets() => Histogram.ExponentialBuckets(0.001, 2, 16);
}

/// <summary>Finding a node's metrics.</summary>
public static class NodeMetricsExtensions
{
    /// <summary>The node's <see cref="NodeMetrics"/>, for a role to add its own families to.</summary>
    public static NodeMetrics Metrics(this IServiceProvider services) => services.GetRequiredService<NodeMetrics>();
}
