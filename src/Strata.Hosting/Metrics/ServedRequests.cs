using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;
using Strata.Hosting.WarmUp;

namespace Strata.Hosting.Metrics;

/// <summary>
/// The requests an HTTP node (lb, web, app) answered to its clients, whoever produced the answer (a server behind it,
/// a file, the application, the proxy's own error): <c>strata_http_requests_total{code="1xx".."5xx"}</c> and
/// <c>strata_http_request_duration_seconds</c>. The same two series on every tier are what a dashboard's requests/s,
/// error rate and p99 read. The management routes (/healthz, /readyz, /metrics...) are not counted.
/// </summary>
/// <remarks>Label children are resolved once here: recording a request is a few interlocked adds, no allocation.</remarks>
public sealed class ServedRequests
{
    private readonly Counter.Child[] _byClass;
    private readonly Histogram _duration;

    // The same series in a registry of their own that nothing exports: where a node's warm-up requests are recorded.
    private readonly ServedRequests? _rehearsal;

    public ServedRequests(NodeMetrics metrics)
        : this(metrics.Factory)
    {
        _rehearsal = new ServedRequests(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
    }

    private ServedRequests(IMetricFactory factory)
    {
        var requests = factory.CreateCounter("strata_http_requests_total", "Requests this node answered, by status class.", ["code"]);
        _byClass = [.. NodeMetrics.StatusClasses.Select(c => requests.WithLabels(c))];
        _duration = factory.CreateHistogram(
            "strata_http_request_duration_seconds",
            "Time from receiving a request to finishing its answer.",
            new HistogramConfiguration { Buckets = NodeMetrics.DurationBuckets() });
    }

    /// <summary>
    /// Records one answered request; a node's warm-up request (<paramref name="warmUp"/>, <see cref="NodeWarmUp"/>) in
    /// series nothing exports, so the code a client's runs is compiled first and the node's series count clients only.
    /// </summary>
    public void Record(int status, TimeSpan elapsed, bool warmUp = false)
    {
        var series = warmUp && _rehearsal is { } rehearsal ? rehearsal : this;
        series._byClass[NodeMetrics.StatusClass(status)].Inc();
        series._duration.Observe(elapsed.TotalSeconds);
    }
}

/// <summary>Counting the requests a node serves through Kestrel's HTTP layer.</summary>
public static class ServedRequestsExtensions
{
    /// <summary>
    /// Records every request that reaches the pipeline in <see cref="ServedRequests"/> but those of the management routes;
    /// call first, so files, forwarded requests, error answers and the application's are all counted.
    /// </summary>
    public static WebApplication UseServedRequestMetrics(this WebApplication app)
    {
        var served = app.Services.GetRequiredService<ServedRequests>();
        var warmUp = app.Services.GetService<NodeWarmUp>();
        app.Use(next => async context =>
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await next(context);
            }
            finally
            {
                if (!NodeHost.IsManagementRequest(context))
                {
                    served.Record(context.Response.StatusCode, Stopwatch.GetElapsedTime(started), warmUp?.IsOwn(context.Request) == true);
                }
            }
        });
        return app;
    }
}
