using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using System.Collections.Immutable;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Strata.Hosting;
using Strata.Hosting.Logs;
using Strata.Proxy.RequestLog;
using Strata.Proxy.Forwarding;
using Strata.Proxy.Clients.Connections;
using Strata.Proxy.Clients.Kestrel;
using Strata.Proxy.Health;
using Strata.Proxy.Routing;
using Strata.Proxy.Upstreams;
using Strata.Topology;
using Yarp.ReverseProxy.Forwarder;

namespace Strata.Proxy;

/// <summary>Registers the forwarding machinery a tier uses to reach the tier behind it.</summary>
public static class ProxyServiceCollectionExtensions
{
    /// <summary>
    /// Adds the pools <paramref name="pools"/> takes from the topology (the default one first; again on each reload) as
    /// <see cref="Backends"/> with the routes <paramref name="routes"/> takes, an active health checker per pool, the one pipeline
    /// (<see cref="UpstreamForwarder"/>) with its two ways in, Kestrel's and the connection path, naming this proxy <paramref name="node"/> in Via, and a readiness check
    /// "upstreams" on the default pool (failing with no healthy server only when <paramref name="requireHealthyUpstream"/>).
    /// The forwarder writes its own error answers with the registered <see cref="IUpstreamErrorWriter"/>, if any, else
    /// as plain text.
    /// </summary>
    /// <param name="node">This proxy: its name goes in Via, its address is where it connects from, and its role says which peers'
    /// X-Forwarded-* it keeps (<see cref="Topology.Topology.ProxiesInFront"/>); from others they are set from the connection.</param>
    public static IServiceCollection AddUpstreamForwarding(
        this IServiceCollection services,
        Topology.Topology topology,
        Func<Topology.Topology, ImmutableArray<PoolSpec>> pools,
        Func<Topology.Topology, ImmutableArray<RouteSpec>> routes,
        NodeSpec node,
        bool requireHealthyUpstream)
    {
        services.AddHttpForwarder();
        services.AddSingleton(sp => new Backends(topology, pools, routes, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<Backends>>()));
        services.AddSingleton(sp => sp.GetRequiredService<Backends>().Default);
        services.AddSingleton<ITopologyReloadTarget>(sp => sp.GetRequiredService<Backends>());
        services.AddTopologyReload(topology);
        for (var i = 0; i < pools(topology).Length; i++)
        {
            var index = i;
            services.AddSingleton<IHostedService>(sp => new ActiveHealthChecker(
                sp.GetRequiredService<Backends>().All[index], sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ActiveHealthChecker>>()));
        }

        services.AddSingleton(sp => new UpstreamForwarder(
            node.Name,
            UpstreamSocket.SourceFor(node),
            sp.GetRequiredService<Backends>(),
            sp.GetService<IProxyObserver>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<UpstreamForwarder>>(),
            sp.GetService<LogFileWriter<RequestLogEntry>>()));
        var proxyHeaders = new ProxyHeaders(node.Name, topology.ProxiesInFront(node.Role));
        services.AddSingleton(sp => new KestrelForwarder(
            sp.GetRequiredService<UpstreamForwarder>(), sp.GetRequiredService<IHttpForwarder>(), proxyHeaders, sp.GetService<IUpstreamErrorWriter>()));
        services.AddSingleton(sp => new ConnectionForwarder(
            sp.GetRequiredService<UpstreamForwarder>(), proxyHeaders, sp.GetService<IUpstreamErrorWriter>(), sp.GetService<IConnectionContent>(),
            sp.GetService<IOptions<KestrelServerOptions>>()?.Value.Limits));
        services.AddSingleton<IReadinessCheck>(sp => new UpstreamReadinessCheck(sp.GetRequiredService<UpstreamPool>(), requireHealthyUpstream));
        return services;
    }

    /// <summary>How long an upload may be slower than the minimum rate before Kestrel closes it (nginx counts 60 s of silence).</summary>
    public static readonly TimeSpan MinBodyRateGracePeriod = TimeSpan.FromSeconds(5);

    /// <summary>The backend's client timeout on a forwarding node's own listener (HAProxy's timeout client and http-request).</summary>
    public static void ApplyClientTimeouts(this KestrelServerOptions kestrel, BackendSpec backend)
    {
        kestrel.Limits.KeepAliveTimeout = backend.ClientTimeout;
        kestrel.Limits.RequestHeadersTimeout = backend.ClientTimeout;
    }

    /// <summary>
    /// What the web tier accepts from clients (<c>web.client</c>: the body's size and slowest rate, the request line's
    /// and headers' size), on a web node's listeners and on a load balancer's (its own address and the VIP), so that
    /// the edge refuses what no web node would take before one is tried.
    /// </summary>
    public static void ApplyClientLimits(this KestrelServerOptions kestrel, WebSpec web)
    {
        kestrel.Limits.MaxRequestBodySize = web.MaxBodyBytes;
        kestrel.Limits.MaxRequestLineSize = web.MaxRequestLineBytes;
        kestrel.Limits.MaxRequestHeadersTotalSize = web.MaxHeaderBytes;
        kestrel.Limits.MinRequestBodyDataRate = web.MinBodyBytesPerSecond == 0
            ? null
            : new MinDataRate(web.MinBodyBytesPerSecond, MinBodyRateGracePeriod);
    }
}
