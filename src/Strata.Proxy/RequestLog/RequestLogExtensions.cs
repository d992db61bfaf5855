using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Prometheus;
using Strata.Hosting.Logs;
using Strata.Hosting.Metrics;
using Strata.Topology;

namespace Strata.Proxy.RequestLog;

/// <summary>A load balancer's request log (<see cref="Topology.Topology.RequestLog"/>): one call to add it, one to export its drops.</summary>
public static class RequestLogExtensions
{
    /// <summary>
    /// Adds the request log of <paramref name="node"/>, which the node's pipeline then fills with one entry per request
    /// it forwards or answers; nothing when the topology turns it off.
    /// </summary>
    public static IServiceCollection AddRequestLog(this IServiceCollection services, Topology.Topology topology, NodeSpec node)
    {
        if (topology.RequestLog is not { } log)
        {
            return services;
        }

        services.AddSingleton(sp =>
        {
            var time = sp.GetRequiredService<TimeProvider>();
            ILogLineFormat<RequestLogEntry> format = log.Format == LogFileSpec.Json
                ? new JsonRequestLogFormat(node.Name, topology.Vip)
                : new HttpLogFormat(node.Name, topology.Vip, time);
            return new LogFileWriter<RequestLogEntry>(log.For(node.Name), format, time, sp.GetService<LogReopening>());
        });
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<LogFileWriter<RequestLogEntry>>());
        return services;
    }

    /// <summary>Adds <c>strata_request_log_dropped_total</c> to /metrics when the node has a request log.</summary>
    public static WebApplication UseRequestLogMetrics(this WebApplication app)
    {
        if (app.Services.GetService<LogFileWriter<RequestLogEntry>>() is not { } writer)
        {
            return app;
        }

        var metrics = app.Services.Metrics();
        var dropped = metrics.Factory.CreateCounter("strata_request_log_dropped_total", "Request log lines dropped because the writer could not keep up.");
        metrics.Registry.AddBeforeCollectCallback(() => dropped.IncTo(writer.Dropped));
        return app;
    }
}
