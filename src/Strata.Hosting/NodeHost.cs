using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;
using Prometheus;
using Strata.Hosting.Logs;
using Strata.Hosting.Metrics;
using Strata.Hosting.Telemetry;
using Strata.Topology;

namespace Strata.Hosting;

/// <summary>
/// The defaults every HTTP node shares (eShop's ServiceDefaults): Kestrel bound to the node's own
/// addresses, one-line console logs, the /healthz, /readyz and /metrics endpoints, and traces when configured.
/// </summary>
public static class NodeHost
{
    /// <summary>Paths a node answers itself on its management address; never forwarded.</summary>
    public const string HealthPath = "/healthz";

    /// <inheritdoc cref="HealthPath"/>
    public const string ReadyPath = "/readyz";

    /// <summary>
    /// A builder for <paramref name="node"/> of <paramref name="topology"/>, listening over HTTP on its management address
    /// and, unless <paramref name="serveHttpOnAddress"/> is false (the DNS node, whose address is DNS over UDP and TCP; the
    /// database node's, MySQL's protocol), on its address, <paramref name="configureListen"/> applied to each listener;
    /// with its <see cref="NodeMetrics"/> (and, serving HTTP, <see cref="ServedRequests"/>) and, when
    /// <see cref="NodeTracing.IsOn"/>, its traces.
    /// </summary>
    public static WebApplicationBuilder CreateBuilder(Topology.Topology topology, NodeSpec node, bool serveHttpOnAddress = true, Action<ListenOptions>? configureListen = null)
    {
        RefuseBareLineFeeds();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = $"strata-{node.Name}",
            ContentRootPath = AppContext.BaseDirectory,
        });

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(node.Management, listen => configureListen?.Invoke(listen));
            if (serveHttpOnAddress && !node.Management.Equals(node.Address))
            {
                kestrel.Listen(node.Address, listen => configureListen?.Invoke(listen));
            }
        });

        ConfigureLogging(builder.Logging);
        var marker = new ManagementEndpoint(Isolated: serveHttpOnAddress && !node.Management.Equals(node.Address));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
        builder.Services.AddSingleton(node);
        builder.Services.AddSingleton(marker);
        builder.Services.AddSingleton(new NodeMetrics(node));
        if (serveHttpOnAddress)
        {
            builder.Services.AddSingleton<ServedRequests>();
        }

        builder.AddTracing(topology.Telemetry, node, context => marker.Isolated ? node.IsManagementConnection(context) : IsProbePath(context.Request.Path));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<LogReopening>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LogReopening>());
        return builder;
    }

    /// <summary>
    /// Every Kestrel listener of this process answers a request whose lines end in LF alone with 400 at once. Kestrel
    /// accepts them by default (RFC 9112 §2.2 allows either); HAProxy and nginx do too, but a proxy that reads a line
    /// ending one way while the server behind reads it another is how requests are smuggled, and Strata's own
    /// connection path (ConnectionForwarder) reads CRLF only. One rule for every listener of every tier: CRLF.
    /// </summary>
    public static void RefuseBareLineFeeds() =>
        AppContext.SetSwitch("Microsoft.AspNetCore.Server.Kestrel.DisableHttp1LineFeedTerminators", true);

    /// <summary>How long a node waits for in-flight requests when asked to stop.</summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(5);

    /// <summary>One line per event, UTC timestamps, framework chatter only from warnings up.</summary>
    public static void ConfigureLogging(ILoggingBuilder logging)
    {
        logging.ClearProviders();
        logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
            o.UseUtcTimestamp = true;
        });
        logging.AddFilter("Microsoft", LogLevel.Warning);
        logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        logging.AddFilter("System.Net.Http", LogLevel.Warning);
        // YARP logs every forwarded request at Information: no per-request logging on the hot path.
        logging.AddFilter("Yarp", LogLevel.Warning);
        // Hosting opens a log scope and starts an Activity for every request while this category is enabled at any
        // level, only to log request start and finish at Information, which is filtered out anyway. Unhandled
        // request errors are Kestrel's to log, under its own category.
        logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
    }

    /// <summary>
    /// Maps the node's management routes and returns their group, for the role to add its own (/vip, /stats, /admin):
    /// GET /healthz (the process is alive), GET /readyz (every <see cref="IReadinessCheck"/> passes: 200, else 503), both
    /// with a small JSON body naming the node, and GET /metrics (<see cref="NodeMetrics"/>, Prometheus's text format). The group never answers through the VIP
    /// or another proxy (404, as a path the site does not have): when the node has a management address of its own,
    /// it answers only there (HAProxy's stats on a <c>listen</c> of their own); when it shares the node's address, only
    /// requests that came through no proxy (no <c>Via</c>, which every Strata proxy appends; nginx's
    /// <c>allow</c>/<c>deny</c> on a location is the classic stack's way).
    /// </summary>
    public static RouteGroupBuilder MapManagement(this WebApplication app)
    {
        var node = app.Services.GetRequiredService<NodeSpec>();
        var marker = app.Services.GetRequiredService<ManagementEndpoint>();
        app.Use((context, next) =>
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<ManagementEndpoint>() is not null
                && (marker.Isolated ? !node.IsManagementConnection(context) : context.Request.Headers.ContainsKey(HeaderNames.Via)))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }

            return next(context);
        });

        var management = app.MapGroup("");
        management.WithMetadata(marker);
        var pid = Environment.ProcessId;
        management.MapGet(HealthPath, () => Results.Json(new { node = node.Name, role = node.Role.ShortName(), pid, status = "alive" }));
        management.MapGet(ReadyPath, async (IEnumerable<IReadinessCheck> checks, CancellationToken ct) =>
        {
            var results = new Dictionary<string, ReadinessResult>(StringComparer.Ordinal);
            foreach (var check in checks)
            {
                ReadinessResult result;
                try
                {
                    result = await check.CheckAsync(ct);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    result = new ReadinessResult(false, ex.Message);
                }

                results[check.Name] = result;
            }

            var ready = results.Values.All(r => r.Ready);
            return Results.Json(
                new { node = node.Name, role = node.Role.ShortName(), ready, checks = results },
                statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });
        management.MapMetrics(NodeMetrics.Path, app.Services.GetRequiredService<NodeMetrics>().Registry);
        return management;
    }

    /// <summary>Whether <paramref name="context"/>'s request was one of the management routes (known once routing has run).</summary>
    public static bool IsManagementRequest(HttpContext context) => context.GetEndpoint()?.Metadata.GetMetadata<ManagementEndpoint>() is not null;

    /// <summary>The paths probed several times a second (health checks, scrapes), on a node whose management routes share its address.</summary>
    private static bool IsProbePath(PathString path) =>
        path.Equals(HealthPath, StringComparison.Ordinal) || path.Equals(ReadyPath, StringComparison.Ordinal) || path.Equals(NodeMetrics.Path, StringComparison.Ordinal);

    /// <summary>Whether <paramref name="context"/>'s connection arrived on <paramref name="node"/>'s management address.</summary>
    public static bool IsManagementConnection(this NodeSpec node, HttpContext context) =>
        context.Connection.LocalPort == node.Management.Port && node.Management.Address.Equals(context.Connection.LocalIpAddress);

    /// <summary>Marks the endpoints that answer only on a node's management address, when HTTP listens on two.</summary>
    private sealed record ManagementEndpoint(bool Isolated);

    /// <summary>The addresses Kestrel actually bound (useful when a test asked for port 0).</summary>
    public static IReadOnlyList<Uri> BoundAddresses(this WebApplication app) =>
        app.Urls.Select(u => new Uri(u)).ToArray();
}
