using System.Net;
using Prometheus;
using Strata.Hosting.Metrics;
using Strata.Proxy.Metrics;
using Strata.Proxy.Routing;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.Proxy.Metrics;

/// <summary>
/// The metrics of a node's pools: a series per pool, each with the node's labels, the load balancer's requests counted as
/// the node's served ones too, and a server a reload added never breaks the request path.
/// </summary>
public sealed class ProxyMetricsTests
{
    private static readonly NodeSpec LoadBalancer = TestTopology.Node("lb-1", NodeRole.LoadBalancer);

    [Fact]
    public async Task EachPool_ItsOwnBackendLabel_AndTheNodesLabels()
    {
        var backends = Backends(["api"]);
        using var metrics = new ProxyMetrics(backends, new NodeMetrics(LoadBalancer));

        metrics.RequestCompleted(backends.Find("api")!, 200, TimeSpan.FromMilliseconds(3));
        metrics.RequestCompleted(backends.Default, 503, TimeSpan.FromMilliseconds(1));

        var text = await ExportAsync(metrics.Registry);
        Assert.Contains("strata_responses_total{backend=\"api\",code=\"2xx\",node=\"lb-1\",tier=\"lb\"} 1", text);
        Assert.Contains("strata_responses_total{backend=\"web\",code=\"5xx\",node=\"lb-1\",tier=\"lb\"} 1", text);
        Assert.Contains("strata_server_up{backend=\"api\",server=\"api-1\",node=\"lb-1\",tier=\"lb\"}", text);
        Assert.DoesNotContain("strata_http_requests_total", text);
    }

    [Fact]
    public async Task ServedRequests_EveryPoolsRequestsCountedAsTheNodes()
    {
        var backends = Backends(["api"]);
        var node = new NodeMetrics(LoadBalancer);
        using var metrics = new ProxyMetrics(backends, node, new ServedRequests(node));

        metrics.RequestCompleted(backends.Find("api")!, 200, TimeSpan.FromMilliseconds(3));
        metrics.RequestCompleted(backends.Default, 503, TimeSpan.FromMilliseconds(1));
        metrics.RequestCompleted(backends.Default, 204, TimeSpan.FromMilliseconds(1));

        var text = await ExportAsync(metrics.Registry);
        Assert.Contains("strata_http_requests_total{code=\"2xx\",node=\"lb-1\",tier=\"lb\"} 2", text);
        Assert.Contains("strata_http_requests_total{code=\"5xx\",node=\"lb-1\",tier=\"lb\"} 1", text);
        Assert.Contains("strata_http_request_duration_seconds_count{node=\"lb-1\",tier=\"lb\"} 3", text);
    }

    [Fact]
    public void ServerAddedByReload_RetriedAndHealthChanged_NotThrown()
    {
        var backends = Backends([]);
        using var metrics = new ProxyMetrics(backends, new NodeMetrics(LoadBalancer));
        var pool = backends.Default;
        pool.Apply([.. pool.Members.Select(m => m.Node), TestTopology.Node("web-9", NodeRole.Web, new IPEndPoint(IPAddress.Loopback, 9009))], pool.Backend);
        var added = pool.Find("web-9")!;

        metrics.Retried(pool, added);
        pool.SetHealth(added, up: true);

        Assert.True(added.IsUp);
    }

    private static Backends Backends(string[] pools)
    {
        var topology = TestTopology.Create(webNodes: [TestTopology.Node("web-1", NodeRole.Web, new IPEndPoint(IPAddress.Loopback, 9001))]) with
        {
            WebPools = [.. pools.Select((p, i) => new PoolSpec(p, [TestTopology.Node($"{p}-1", NodeRole.Web, new IPEndPoint(IPAddress.Loopback, 9100 + i))], TestTopology.FastBackend))],
        };
        return new Backends(topology, t => t.AllWebPools, t => t.LoadBalancerRoutes, TimeProvider.System, new ListLogger<Backends>());
    }

    private static async Task<string> ExportAsync(CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
