using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Strata.Cluster.Election;
using Strata.Cluster.Wire;
using Strata.Hosting;
using Strata.Hosting.Metrics;
using Strata.Hosting.Tls;
using Strata.Hosting.WarmUp;
using Strata.LoadBalancer.Limits;
using Strata.LoadBalancer.Vip;
using Strata.Proxy.Routing;
using Strata.Proxy;
using Strata.Proxy.Clients.Connections;
using Strata.Proxy.Forwarding;
using Strata.Proxy.RequestLog;
using Strata.Proxy.Stats;
using Strata.Proxy.Upstreams;
using Strata.Topology;

namespace Strata.LoadBalancer;

/// <summary>A load balancer node: forwards to the web tier, and takes the VIP when it wins the election.</summary>
public static class LoadBalancerNode
{
    /// <summary>Path of the node's VIP state: <c>{"node":"lb-1","vip":"127.0.0.100:8080","state":"master","priority":200,"listening":true}</c>.</summary>
    public const string VipPath = "/vip";

    /// <summary>The routes' rate limits shared with the other load balancers over the cluster connections, when there are others.</summary>
    private static RateLimitPeers? SharedRateLimits(Topology.Topology topology, Backends backends)
    {
        if (topology.LoadBalancers.Length < 2)
        {
            return null;
        }

        backends.RateLimits.Shared = true;
        return new RateLimitPeers(backends.RateLimits);
    }

    /// <summary>Builds the node <paramref name="node"/> of <paramref name="topology"/>; the caller runs it.</summary>
    /// <param name="topology">The topology.</param>
    /// <param name="node">This node.</param>
    /// <param name="warmUp">Whether the node runs requests through its VIP's way in before it says ready or takes the
    /// VIP (<see cref="VipWarmUp"/>; the <c>strata lb</c> command's nodes do).</param>
    public static WebApplication Build(Topology.Topology topology, NodeSpec node, bool warmUp = false)
    {
        var builder = NodeHost.CreateBuilder(topology, node, configureListen: listen => listen.UseSendTimeout(topology.WebBackend.ClientTimeout))
            .AddForwardingTo(topology, node, t => t.AllWebPools, t => [.. t.VipTls?.Routes ?? [], .. t.LoadBalancerRoutes], requireHealthyUpstream: true, servesOnlyForwarded: true);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ApplyClientLimits(topology.Web));
        builder.Services.AddRequestLog(topology, node);
        builder.Services.AddSingleton(sp => new ConnectionLimiter(topology.VipConnections, sp.GetRequiredService<ILogger<ConnectionLimiter>>()));
        if (topology.VipTls is { } tls)
        {
            if (tls.Generate)
            {
                // strata up makes it first; a load balancer started by hand makes it when it is missing.
                LocalCertificateAuthority.Ensure(topology, tls);
            }

            builder.Services.AddSingleton(sp => new VipCertificates(tls, sp.GetRequiredService<ILogger<VipCertificates>>()));
            builder.Services.AddSingleton<ITopologyReloadTarget>(sp => sp.GetRequiredService<VipCertificates>());
            builder.Services.AddSingleton<IServedCertificates>(sp => sp.GetRequiredService<VipCertificates>());
        }

        if (warmUp)
        {
            builder.Services.AddWarmUp((_, ct) => VipWarmUp.StartAsync(topology, node, ct));
        }

        builder.Services.AddSingleton<VipStatus>();
        builder.Services.AddSingleton(sp =>
        {
            var listener = new KestrelVipListener(topology.Vip, topology.WebBackend, topology.Web, sp, topology.VipTls, sp.GetService<VipCertificates>(), sp.GetService<NodeWarmUp>());
            listener.Prepare();
            return listener;
        });
        builder.Services.AddHostedService(sp =>
        {
            var pool = sp.GetRequiredService<UpstreamPool>();
            var warmedUp = sp.GetService<NodeWarmUp>();
            IVipListener listener = sp.GetRequiredService<KestrelVipListener>();
            if (topology.Vrrp.Interface is { } iface)
            {
                // On a real link (or --netns) the VIP is an address the master adds to its interface.
                listener = new InterfaceVip(topology.Vip.Address, iface, listener, sp.GetRequiredService<ILogger<InterfaceVip>>());
            }

            return new VrrpElection(
                node,
                topology.LoadBalancers,
                topology.Vrrp,
                topology.Vip,
                listener,
                sp.GetRequiredService<VipStatus>(),
                // A node still warming up does not preempt a warm one (it would not listen on the VIP yet: KestrelVipListener).
                cannotServe: () => !pool.CanServe ? "no web node is up and ready" : warmedUp?.IsOver == false ? "warming up" : null,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<VrrpElection>>(),
                SharedRateLimits(topology, sp.GetRequiredService<Backends>()));
        });

        var app = builder.Build();
        if (topology.Vrrp.ActiveActive)
        {
            app.Logger.LogInformation("{Node}: {Handover}", node.Name, TcpMigrateRequests.Enable());
        }

        var metrics = app.Services.Metrics();
        VipMetrics.Register(metrics, app.Services.GetRequiredService<VipStatus>());
        app.UseRequestLogMetrics();
        VipMetrics.RegisterConnections(metrics, app.Services.GetRequiredService<ConnectionLimiter>());
        if (app.Services.GetService<VipCertificates>() is { } certificates)
        {
            VipMetrics.RegisterCertificates(metrics, certificates, app.Services.GetRequiredService<TimeProvider>());
        }

        var management = app.MapManagement();
        var vip = topology.Vip.ToString();
        management.MapGet(VipPath, (VipStatus status) => Results.Json(new
        {
            node = node.Name,
            vip,
            state = status.State.ToString().ToLowerInvariant(),
            priority = status.Priority,
            listening = status.HoldsVip,
        }));
        return app.MapForwarding(management, topology);
    }
}
