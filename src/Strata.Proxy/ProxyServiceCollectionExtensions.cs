using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Strata.Hosting;
using Strata.Proxy.Forwarding;
using Strata.Proxy.Forwarding.Http1;
using Strata.Proxy.Health;
using Strata.Proxy.Upstreams;
using Strata.Topology;
using Yarp.ReverseProxy.Forwarder;

namespace Strata.Proxy;

/// <summary>Registers the forwarding machinery a tier uses to reach the tier behind it.</summary>
public static class ProxyServiceCollectionExtensions
{
    /// <summary>
    /// Adds an <see cref="UpstreamPool"/> over the backend <paramref name="select"/> takes from the topology (again on
    /// each reload), its active health checker, an <see cref="UpstreamForwarder"/> that names this proxy
    /// <paramref name="proxyName"/> in Via, and a readiness check "upstreams" (failing with no healthy server only
    /// when <paramref name="requireHealthyUpstream"/>). The forwarder writes its own error answers with the registered
    /// <see cref="IUpstreamErrorWriter"/>, if any, else as plain text.
    /// </summary>
    /// <param name="isEdge">True for the first proxy a client meets: X-Forwarded-* are set from the connection, trusted only from the topology's trusted proxies.</param>
    public static IServiceCollection AddUpstreamForwarding(
        this IServiceCollection services,
        string tierName,
        Topology.Topology topology,
        Func<Topology.Topology, BackendSelection> select,
        string proxyName,
        bool isEdge,
        bool requireHealthyUpstream)
    {
        var (upstreams, backend) = select(topology);
        services.AddHttpForwarder();
        services.AddSingleton(sp => new UpstreamPool(tierName, upstreams, backend, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ITopologyReloadTarget>(sp => new BackendReloadTarget(sp.GetRequiredService<UpstreamPool>(), select));
        services.AddTopologyReload(topology);
        var trustedProxies = isEdge ? topology.TrustedProxies : [];
        services.AddHostedService(sp => new ActiveHealthChecker(
            sp.GetRequiredService<UpstreamPool>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ActiveHealthChecker>>()));
        services.AddSingleton(sp => new UpstreamForwarder(
            proxyName,
            sp.GetRequiredService<UpstreamPool>(),
            sp.GetRequiredService<IHttpForwarder>(),
            new ProxyHeaders(proxyName, isEdge, trustedProxies, sp.GetRequiredService<UpstreamPool>()),
            sp.GetService<IProxyObserver>(),
            sp.GetService<IUpstreamErrorWriter>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<UpstreamForwarder>>()));
        services.AddSingleton(sp => new ConnectionForwarder(sp.GetRequiredService<UpstreamForwarder>()));
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
