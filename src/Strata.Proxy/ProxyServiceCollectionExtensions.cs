using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Strata.Hosting;
using Strata.Proxy.Forwarding;
using Strata.Proxy.Health;
using Strata.Proxy.Upstreams;
using Strata.Topology;
using Yarp.ReverseProxy.Forwarder;

namespace Strata.Proxy;

/// <summary>Registers the forwarding machinery a tier uses to reach the tier behind it.</summary>
public static class ProxyServiceCollectionExtensions
{
    /// <summary>
    /// Adds an <see cref="UpstreamPool"/> over <paramref name="upstreams"/>, its active health checker, an
    /// <see cref="UpstreamForwarder"/> that names this proxy <paramref name="proxyName"/> in Via, and a readiness
    /// check "upstreams" (failing with no healthy server only when <paramref name="requireHealthyUpstream"/>).
    /// </summary>
    /// <param name="isEdge">True for the first proxy a client meets: X-Forwarded-* are set from the connection, not trusted.</param>
    public static IServiceCollection AddUpstreamForwarding(
        this IServiceCollection services,
        string tierName,
        IEnumerable<NodeSpec> upstreams,
        HealthCheckSpec healthCheck,
        string proxyName,
        bool isEdge,
        bool requireHealthyUpstream)
    {
        var pool = new UpstreamPool(tierName, upstreams, healthCheck);
        services.AddHttpForwarder();
        services.AddSingleton(pool);
        services.AddHostedService(sp => new ActiveHealthChecker(
            pool, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ActiveHealthChecker>>()));
        services.AddSingleton(sp => new UpstreamForwarder(
            proxyName,
            pool,
            sp.GetRequiredService<IHttpForwarder>(),
            new ForwardingTransformer(proxyName, isEdge),
            sp.GetRequiredService<ILogger<UpstreamForwarder>>()));
        services.AddSingleton<IReadinessCheck>(new UpstreamReadinessCheck(pool, requireHealthyUpstream));
        return services;
    }
}
