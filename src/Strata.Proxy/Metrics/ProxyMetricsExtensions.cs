using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Strata.Hosting.Metrics;
using Strata.Proxy.Forwarding;
using Strata.Proxy.Routing;

namespace Strata.Proxy.Metrics;

/// <summary>Registers a forwarding node's Prometheus metrics, which /metrics exports with the node's others (<see cref="NodeMetrics"/>).</summary>
public static class ProxyMetricsExtensions
{
    /// <summary>
    /// Adds the node's metrics as its <see cref="IProxyObserver"/>, over the pools (<see cref="Backends"/>) that
    /// <see cref="ProxyServiceCollectionExtensions.AddUpstreamForwarding"/> registers.
    /// </summary>
    /// <param name="services">The node's services.</param>
    /// <param name="countsServedRequests">Whether the pipeline sees every request the node answers and counts them in <see cref="ServedRequests"/> (a load balancer).</param>
    public static IServiceCollection AddProxyMetrics(this IServiceCollection services, bool countsServedRequests)
    {
        services.AddSingleton(sp => new ProxyMetrics(
            sp.GetRequiredService<Backends>(), sp.GetRequiredService<NodeMetrics>(), countsServedRequests ? sp.GetRequiredService<ServedRequests>() : null));
        services.AddSingleton<IProxyObserver>(sp => sp.GetRequiredService<ProxyMetrics>());
        return services;
    }

    /// <summary>Creates the pools' metrics now rather than at the first request, so health changes from the first checks are counted.</summary>
    public static void StartProxyMetrics(this IEndpointRouteBuilder endpoints) => endpoints.ServiceProvider.GetRequiredService<ProxyMetrics>();
}
