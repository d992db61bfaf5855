using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Strata.Hosting;
using Strata.Proxy;
using Strata.Proxy.Forwarding;
using Strata.Topology;

namespace Strata.Web;

/// <summary>
/// A web node: serves the files under the web root itself and forwards every other request to the app tier,
/// like nginx's <c>try_files $uri @app</c>.
/// </summary>
public static class WebNode
{
    /// <summary>Builds the node <paramref name="node"/> of <paramref name="topology"/>; the caller runs it.</summary>
    public static WebApplication Build(Topology.Topology topology, NodeSpec node)
    {
        var builder = NodeHost.CreateBuilder(node);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ApplyClientTimeouts(topology.AppBackend));
        // Static files still serve with no app node up, so readiness does not depend on the app tier.
        builder.Services.AddUpstreamForwarding(
            "app", topology, t => new(t.AppNodes, t.AppBackend), node.Name, isEdge: false, requireHealthyUpstream: false);
        builder.Services.AddProxyManagement();

        var app = builder.Build();
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = new PhysicalFileProvider(topology.WebRoot),
            ContentTypeProvider = new FileExtensionContentTypeProvider(),
            // The web node is the origin of the files it serves; forwarded answers carry the app node's name.
            OnPrepareResponse = file => file.Context.Response.Headers[UpstreamForwarder.ServedByHeader] = node.Name,
        });

        // Routing after the files: an endpoint chosen before them would keep the static middleware from serving.
        app.UseRouting();
        app.MapManagement().MapProxyManagement(topology);
        app.MapFallback("{**path}", app.Services.GetRequiredService<UpstreamForwarder>().ForwardAsync);
        return app;
    }
}
