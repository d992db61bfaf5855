using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;
using Strata.Proxy.Forwarding;
using Strata.Proxy.Routing;

namespace Strata.Proxy.Metrics;

/// <summary>Registers and exports a forwarding node's Prometheus metrics.</summary>
public static class ProxyMetricsExtensions
{
    /// <summary>The path Prometheus scrapes.</summary>
    public const string Path = "/metrics";

    /// <summary>
    /// Adds the node's metrics as its <see cref="IProxyObserver"/>, over the pools (<see cref="Backends"/>) that
    /// <see cref="ProxyServiceCollectionExtensions.AddUpstreamForwarding"/> registers.
    /// </summary>
    public static IServiceCollection AddProxyMetrics(this IServiceCollection services)
    {
        services.AddSingleton(sp => new ProxyMetrics(sp.GetRequiredService<Backends>()));
        services.AddSingleton<IProxyObserver>(sp => sp.GetRequiredService<ProxyMetrics>());
        return services;
    }

    /// <summary>Maps <c>GET /metrics</c> (Prometheus text format, or OpenMetrics when asked) over the node's own registry.</summary>
    public static IEndpointConventionBuilder MapProxyMetrics(this IEndpointRouteBuilder endpoints)
    {
        // Resolved now rather than at the first request, so health changes from the first checks are counted.
        var metrics = endpoints.ServiceProvider.GetRequiredService<ProxyMetrics>();
        return endpoints.MapMetrics(Path, metrics.Registry);
    }
}
