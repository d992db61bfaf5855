using System.Collections.Immutable;
using System.Net.Security;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Strata.Proxy.Forwarding;
using Strata.Proxy.Clients.Connections;
using Strata.Proxy.Clients.Kestrel;
using Strata.Proxy.Upstreams;
using Strata.Topology;

namespace Strata.Proxy;

/// <summary>What makes a node a forwarding node (a load balancer, a web node): one call to add, one to map.</summary>
public static class ForwardingNodeExtensions
{
    /// <summary>
    /// Forwarding to the pools <paramref name="pools"/> takes from the topology by the routes <paramref name="routes"/>
    /// takes, with the default pool's client timeouts on this node's listener, and metrics, stats and the admin API
    /// (see <see cref="ProxyServiceCollectionExtensions.AddUpstreamForwarding"/>).
    /// </summary>
    /// <param name="servesOnlyForwarded">
    /// Whether every request the node answers goes through the pipeline (a load balancer), which then counts them as the
    /// node's served requests; a node that serves content of its own (a web node's files) counts them in Kestrel's pipeline.
    /// </param>
    public static WebApplicationBuilder AddForwardingTo(
        this WebApplicationBuilder builder,
        Topology.Topology topology,
        NodeSpec node,
        Func<Topology.Topology, ImmutableArray<PoolSpec>> pools,
        Func<Topology.Topology, ImmutableArray<RouteSpec>> routes,
        bool requireHealthyUpstream,
        bool servesOnlyForwarded)
    {
        var backend = pools(topology)[0].Backend;
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ApplyClientTimeouts(backend));
        builder.Services.AddUpstreamForwarding(topology, pools, routes, node, requireHealthyUpstream);
        builder.Services.AddProxyManagement(servesOnlyForwarded);
        return builder;
    }

    /// <summary>Maps /stats and /admin on <paramref name="management"/>, and forwards every other request.</summary>
    public static WebApplication MapForwarding(this WebApplication app, RouteGroupBuilder management, Topology.Topology topology)
    {
        management.MapProxyManagement(topology);
        app.MapFallback("{**path}", app.Services.GetRequiredService<KestrelForwarder>().ForwardAsync);
        return app;
    }

    /// <summary>
    /// Routes requests ahead of the node's own content (<paramref name="app"/>'s next middleware, e.g. static files):
    /// answers what a route's rules answer, forwards what a route sends to a named pool, and lets the rest through
    /// with their route (see <see cref="KestrelForwarder.RouteAsync"/>).
    /// </summary>
    public static WebApplication UseRoutes(this WebApplication app)
    {
        var forwarder = app.Services.GetRequiredService<KestrelForwarder>();
        app.Use(next => context => forwarder.RouteAsync(context, next));
        return app;
    }

    /// <summary>
    /// Serves the plain requests of this listener's connections below Kestrel's HTTP layer (GET and HEAD without a
    /// body, over HTTP/1.1), handing a connection to Kestrel at its first other request.
    /// </summary>
    /// <param name="listen">The listener; with <paramref name="https"/>, after its <c>UseHttps</c>.</param>
    /// <param name="nodeServices">The services of the forwarding node (<see cref="AddForwardingTo"/>) whose forwarder serves them.</param>
    /// <param name="https">
    /// For a TLS listener, the header lines (CRLF after each, e.g. Strict-Transport-Security) every HTTPS answer
    /// carries; its HTTP/1.1 connections are served here as https, and those that chose h2 by ALPN go to Kestrel,
    /// their frames counted by <see cref="Http2FrameGuard"/>. Null: a plain HTTP listener.
    /// </param>
    public static ListenOptions UseConnectionForwarding(this ListenOptions listen, IServiceProvider nodeServices, byte[]? https = null)
    {
        var connections = nodeServices.GetRequiredService<ConnectionForwarder>();
        listen.Use(next => context =>
        {
            if (https is not null && ChoseHttp2(context))
            {
                Http2FrameGuard.Install(context);
                return next(context);
            }

            return connections.ServeAsync(context, next, https);
        });
        return listen;
    }

    /// <summary>
    /// As <see cref="UseConnectionForwarding(ListenOptions, IServiceProvider, byte[])"/> on a node's own plain listener
    /// (the web node's address), the node's services taken when the listener starts.
    /// </summary>
    public static ListenOptions UseConnectionForwarding(this ListenOptions listen)
    {
        listen.Use(next =>
        {
            var connections = listen.ApplicationServices.GetRequiredService<ConnectionForwarder>();
            return context => connections.ServeAsync(context, next, https: null);
        });
        return listen;
    }

    private static bool ChoseHttp2(ConnectionContext context) =>
        context.Features.Get<ITlsApplicationProtocolFeature>() is { } alpn && alpn.ApplicationProtocol.Span.SequenceEqual(SslApplicationProtocol.Http2.Protocol.Span);
}
