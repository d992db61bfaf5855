using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Strata.Topology;

namespace Strata.Web.Static;

/// <summary>Adds the web node's static site to a pipeline.</summary>
public static class StaticSiteExtensions
{
    /// <summary>
    /// Serves the files under <paramref name="webRoot"/> as <paramref name="spec"/> says, answering with
    /// <c>X-Served-By: <paramref name="nodeName"/></c>; app prefixes, other methods and paths with no file go to the
    /// next middleware (the forwarder to the app tier), like nginx's <c>try_files $uri $uri/ @app</c>.
    /// </summary>
    public static IApplicationBuilder UseStaticSite(this IApplicationBuilder app, string webRoot, WebSpec spec, string nodeName)
    {
        var files = new HotFileCache(webRoot, spec);
        app.ApplicationServices.GetService<IHostApplicationLifetime>()?.ApplicationStopped.Register(files.Dispose);
        return app.UseStaticSite(files, spec, nodeName);
    }

    /// <summary>As the public overload, over a cache the caller owns (tests read its counters).</summary>
    internal static IApplicationBuilder UseStaticSite(this IApplicationBuilder app, HotFileCache files, WebSpec spec, string nodeName) =>
        app.Use(next => new StaticSiteMiddleware(next, files, spec, nodeName).InvokeAsync);
}
