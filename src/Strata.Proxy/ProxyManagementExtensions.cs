using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Strata.Hosting.Admin;
using Strata.Proxy.Admin;
using Strata.Proxy.Metrics;
using Strata.Proxy.Stats;
using Strata.Proxy.Routing;
using Strata.Topology;

namespace Strata.Proxy;

/// <summary>
/// What a forwarding node answers about itself on its management address, beside /healthz, /readyz and /metrics:
/// its pools' metrics in /metrics (Prometheus), <c>/stats</c> (HTML, or JSON with <c>?format=json</c>) and the admin API
/// under <c>/admin</c>. One call each to add the services and to map the routes.
/// </summary>
public static class ProxyManagementExtensions
{
    /// <summary>Adds metrics, stats (with the rates sampled once a second) and the admin API; call after <see cref="ProxyServiceCollectionExtensions.AddUpstreamForwarding"/>.</summary>
    /// <param name="services">The node's services.</param>
    /// <param name="countsServedRequests">See <see cref="ProxyMetricsExtensions.AddProxyMetrics"/>.</param>
    public static IServiceCollection AddProxyManagement(this IServiceCollection services, bool countsServedRequests)
    {
        services.AddProxyMetrics(countsServedRequests);
        services.AddSingleton(sp => new RateSampler(sp.GetRequiredService<Backends>(), sp.GetRequiredService<ProxyMetrics>(), sp.GetRequiredService<TimeProvider>()));
        services.AddHostedService(sp => sp.GetRequiredService<RateSampler>());
        services.AddSingleton(sp => new StatsReporter(
            sp.GetRequiredService<NodeSpec>(),
            sp.GetRequiredService<Backends>(),
            sp.GetRequiredService<RateSampler>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<IServedCertificates>()));
        services.AddSingleton<AdminApi>();
        return services;
    }

    /// <summary>
    /// Starts the pools' metrics and maps /stats and /admin. The admin token is <see cref="Topology.Topology.AdminToken"/>, else the
    /// environment variable STRATA_ADMIN_TOKEN; with neither, the admin routes answer 404.
    /// </summary>
    /// <param name="management">The node's management group (<c>NodeHost.MapManagement</c>).</param>
    /// <param name="topology">Where the admin token may be set.</param>
    public static IEndpointRouteBuilder MapProxyManagement(this IEndpointRouteBuilder management, Topology.Topology topology)
    {
        management.StartProxyMetrics();
        management.MapProxyStats();
        management.MapProxyAdmin(AdminToken.Resolve(topology.AdminToken));
        return management;
    }
}
