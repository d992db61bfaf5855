using Microsoft.AspNetCore.Server.Kestrel.Core;
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
    /// Adds an <see cref="UpstreamPool"/> for <paramref name="backend"/> over <paramref name="upstreams"/>, its active
    /// health checker, an <see cref="UpstreamForwarder"/> that names this proxy <paramref name="proxyName"/> in Via,
    /// and a readiness check "upstreams" (failing with no healthy server only when <paramref name="requireHealthyUpstream"/>).
    /// </summary>
    /// <param name="isEdge">True for the first proxy a client meets: X-Forwarded-* are set from the connection, trusted only from <paramref name="trustedProxies"/>.</param>
    public static IServiceCollection AddUpstreamForwarding(
        this IServiceCollection services,
        string tierName,
        IEnumerable<NodeSpec> upstreams,
        BackendSpec backend,
        string proxyName,
        bool isEdge,
        bool requireHealthyUpstream,
        IEnumerable<System.Net.IPNetwork>? trustedProxies = null)
    {
        services.AddHttpForwarder();
        services.AddSingleton(sp => new UpstreamPool(tierName, upstreams, backend, sp.GetRequiredService<TimeProvider>()));
        services.AddHostedService(sp => new ActiveHealthChecker(
            sp.GetRequiredService<UpstreamPool>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ActiveHealthChecker>>()));
        services.AddSingleton(sp => new UpstreamForwarder(
            proxyName,
            isEdge,
            sp.GetRequiredService<UpstreamPool>(),
            sp.GetRequiredService<IHttpForwarder>(),
            new ForwardingTransformer(proxyName, isEdge, [.. trustedProxies ?? []], backend.PersistenceCookie),
            sp.GetService<IProxyObserver>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<UpstreamForwarder>>()));
        services.AddSingleton<IReadinessCheck>(sp => new UpstreamReadinessCheck(sp.GetRequiredService<UpstreamPool>(), requireHealthyUpstream));
        return services;
    }

    /// <summary>The backend's client timeout on a forwarding node's own listener (HAProxy's timeout client and http-request).</summary>
    public static void ApplyClientTimeouts(this KestrelServerOptions kestrel, BackendSpec backend)
    {
        kestrel.Limits.KeepAliveTimeout = backend.ClientTimeout;
        kestrel.Limits.RequestHeadersTimeout = backend.ClientTimeout;
    }
}
