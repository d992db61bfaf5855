using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Strata.Hosting.Logs;
using Strata.Proxy.Clients.Connections;
using Strata.Hosting;
using Strata.Hosting.Metrics;
using Strata.Hosting.WarmUp;
using Strata.Proxy;
using Strata.Proxy.Forwarding;
using Strata.Topology;
using Strata.Web.AccessLog;
using Strata.Web.Errors;
using Strata.Web.Limits;
using Strata.Web.Security;
using Strata.Web.Static;

namespace Strata.Web;

/// <summary>
/// A web node: serves the files under the web root itself and forwards every other request to the app tier,
/// like nginx's <c>try_files $uri $uri/ @app</c> (docs/web.md), with nginx's client limits, error pages, access log and
/// the site's security headers.
/// </summary>
public static class WebNode
{
    /// <summary>Builds the node <paramref name="node"/> of <paramref name="topology"/>; the caller runs it.</summary>
    /// <param name="topology">The topology.</param>
    /// <param name="node">This node.</param>
    /// <param name="warmUp">Whether the node requests some of the site's files of itself before it says ready
    /// (<see cref="NodeWarmUp"/>; the <c>strata web</c> command's nodes do).</param>
    public static WebApplication Build(Topology.Topology topology, NodeSpec node, bool warmUp = false)
    {
        var web = topology.Web;

        // Static files still serve with no app node up, so readiness does not depend on the app tier.
        // The node's address (the only listener when the management address is the same): the send timeout on every answer,
        // and the connection path first, serving plain requests for files below Kestrel's HTTP layer (ConnectionStaticFiles).
        var clientTimeout = topology.AllAppPools[0].Backend.ClientTimeout;
        var builder = NodeHost.CreateBuilder(topology, node, configureListen: listen =>
            {
                listen.UseSendTimeout(clientTimeout);
                if (listen.IPEndPoint is { } bound && bound.Equals(node.Address))
                {
                    listen.UseConnectionForwarding();
                }
            })
            .AddForwardingTo(topology, node, t => t.AllAppPools, t => t.WebRoutes, requireHealthyUpstream: false, servesOnlyForwarded: false);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ApplyClientLimits(web));
        // Requests run on the thread that completed the socket read (with the inline socket completions `strata web`
        // sets, on the event thread, as in nginx's worker) rather than being handed to a pool thread per read: the
        // static files' and the forwarder's work does not wait on anything but sockets and the page cache.
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
        builder.Services.AddSingleton<IUpstreamErrorWriter>(new ErrorPageWriter(topology.WebRoot, web));
        builder.Services.AddAccessLog(web, node);
        builder.Services.AddSingleton(new HotFileCache(topology.WebRoot, web));
        if (warmUp && WarmUpFiles.Find(topology.WebRoot) is { Count: > 0 } warmUpPaths)
        {
            builder.Services.AddWarmUp(node, warmUpPaths);
        }

        var proxies = topology.ProxiesInFront(NodeRole.Web);
        builder.Services.AddSingleton<IConnectionContent>(sp => new ConnectionStaticFiles(
            sp.GetRequiredService<HotFileCache>(),
            web,
            node.Name,
            sp.GetRequiredService<IOptions<KestrelServerOptions>>().Value.AddServerHeader,
            sp.GetRequiredService<ServedRequests>(),
            sp.GetService<LogFileWriter<AccessLogEntry>>(),
            proxies,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<EndpointDataSource>(),
            sp.GetService<NodeWarmUp>()));

        var app = builder.Build();
        app.UseServedRequestMetrics();
        app.UseSecurityHeaders(web);
        app.UseAccessLog(proxies);
        app.UseRequestBodyLimit();
        // Routes first: a rule's answer, or a route to another app pool, comes before the files.
        app.UseRoutes();
        // Files (or 404, 400, 405, 301) answered here; app prefixes and anything not a file go on to the forwarder.
        var files = app.Services.GetRequiredService<HotFileCache>();
        app.Lifetime.ApplicationStopped.Register(files.Dispose);
        app.UseStaticSite(files, web, node.Name);

        // Routing after the files: an endpoint chosen before them would keep the static middleware from serving.
        app.UseRouting();
        return app.MapForwarding(app.MapManagement(), topology);
    }
}
