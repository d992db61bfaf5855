using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Prometheus;
using Strata.Hosting;
using Strata.Hosting.Logs;
using Strata.Hosting.Metrics;
using Strata.Proxy;
using Strata.Topology;

namespace Strata.Web.AccessLog;

/// <summary>The web node's access log: one call to add the writer, one to capture requests.</summary>
public static class AccessLogExtensions
{
    /// <summary>The placeholder in web.accessLog.path replaced by the node's name.</summary>
    public const string NodePlaceholder = "{node}";

    /// <summary>
    /// Adds the access log writer for <paramref name="node"/>: <see cref="WebSpec.AccessLogPath"/> with
    /// <c>{node}</c> replaced by its name, in <see cref="WebSpec.AccessLogFormat"/>. Nothing when the path is null.
    /// </summary>
    public static IServiceCollection AddAccessLog(this IServiceCollection services, WebSpec web, NodeSpec node)
    {
        if (web.AccessLogPath is not { } path)
        {
            return services;
        }

        services.AddSingleton(sp =>
        {
            var time = sp.GetRequiredService<TimeProvider>();
            return new LogFileWriter<AccessLogEntry>(
                path.Replace(NodePlaceholder, node.Name, StringComparison.Ordinal), AccessLogFormats.Create(web.AccessLogFormat, time), time, sp.GetService<LogReopening>());
        });
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<LogFileWriter<AccessLogEntry>>());
        return services;
    }

    /// <summary>
    /// Logs every request that reaches the pipeline on the node's serving address; call first, so static files, forwarded requests and error
    /// answers are all logged. Also adds <c>strata_access_log_dropped_total</c> to /metrics. Nothing when
    /// <see cref="AddAccessLog"/> added no writer.
    /// </summary>
    /// <param name="app">The web node.</param>
    /// <param name="proxies">The proxies in front, whose X-Forwarded-For names the client; anyone else's is not believed.</param>
    public static WebApplication UseAccessLog(this WebApplication app, TrustedPeers proxies)
    {
        if (app.Services.GetService<LogFileWriter<AccessLogEntry>>() is not { } writer)
        {
            return app;
        }

        var node = app.Services.GetRequiredService<NodeSpec>();
        var metrics = app.Services.Metrics();
        var dropped = metrics.Factory.CreateCounter("strata_access_log_dropped_total", "Access log lines dropped because the writer could not keep up.");
        metrics.Registry.AddBeforeCollectCallback(() => dropped.IncTo(writer.Dropped));
        var time = app.Services.GetRequiredService<TimeProvider>();
        if (node.Management.Equals(node.Address))
        {
            app.UseMiddleware<AccessLogMiddleware>(writer, node.Name, proxies, time);
            return app;
        }

        // The site's traffic only: health checks, /metrics and /admin on the management address are not logged.
        app.UseWhen(
            context => !node.IsManagementConnection(context),
            site => site.UseMiddleware<AccessLogMiddleware>(writer, node.Name, proxies, time));
        return app;
    }
}
