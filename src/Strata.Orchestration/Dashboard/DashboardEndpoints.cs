using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Strata.Orchestration.Logs;
using Strata.Orchestration.Runs;

namespace Strata.Orchestration.Dashboard;

/// <summary>
/// The dashboard's API. Reads are open, as the nodes' <c>/stats</c> and <c>/metrics</c> are: the dashboard listens on
/// loopback only and shows what those show, plus the nodes' logs, which are the user's own files. Actions (POST) need
/// the admin token, checked before they are routed (<see cref="DashboardActions.Refusal"/>).
/// </summary>
internal static class DashboardEndpoints
{
    /// <summary>Answers 200 while the dashboard runs: how <c>up --detach</c> knows its process is serving.</summary>
    public const string HealthPath = "/healthz";

    /// <summary>The most log lines one request gets.</summary>
    private const int MaxLogLines = 500;

    public static void Map(WebApplication app, DashboardRun run, DashboardMonitor monitor, DashboardActions actions)
    {
        app.MapGet(HealthPath, () => Results.Text("ok\n"));
        var api = app.MapGroup("/api");
        api.AddEndpointFilter(async (context, next) =>
        {
            context.HttpContext.Response.Headers.CacheControl = "no-store";
            return await next(context);
        });

        // The whole state now; then the same, once a second, as server-sent events (the page's EventSource reconnects by itself).
        api.MapGet("/state", () => Results.Text(monitor.StateJson, "application/json"));
        api.MapGet("/events", (CancellationToken cancellationToken) => TypedResults.ServerSentEvents(monitor.WatchAsync(cancellationToken), "state"));

        api.MapGet("/nodes/{name}/history", (string name) => Known(monitor, name)
            ? Results.Json(new { name, period = monitor.History.Length.TotalSeconds, changes = monitor.History.Of(name) })
            : UnknownNode(name));
        api.MapGet("/nodes/{name}/log", (string name, int? n) =>
        {
            if (!Known(monitor, name))
            {
                return UnknownNode(name);
            }

            var path = new RunDirectory(run.TopologyPath).LogPath(name);
            try
            {
                return Results.Json(new { name, path, lines = NodeLog.Lines(path, Math.Clamp(n ?? 50, 1, MaxLogLines)) });
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return Results.Problem($"{path}: {ex.Message}", statusCode: StatusCodes.Status500InternalServerError);
            }
        });

        api.MapPost("/nodes/{name}/{action}", async (string name, string action) =>
            !DashboardActions.NodeActions.Contains(action) ? Results.Problem($"no action '{action}': {string.Join(", ", DashboardActions.NodeActions)}", statusCode: StatusCodes.Status404NotFound)
            : !monitor.NodeNames.Contains(name) ? UnknownNode(name)
            : await actions.NodeAsync(name, action));
        api.MapPost("/scale", async (ScaleRequest request) =>
            (request.Tier?.Trim().ToLowerInvariant(), request.Size) is not ({ } tier, { } size) ? Results.Problem("the body is {\"tier\": \"web\", \"size\": 3}", statusCode: StatusCodes.Status400BadRequest)
            : Orchestrator.ScaleProblem(tier, size) is { } problem ? Results.Problem(problem, statusCode: StatusCodes.Status400BadRequest)
            : await actions.ScaleAsync(tier, size));
    }

    /// <summary>A node shown now, or one shown in the last minutes (scaled away): its history and log are still there.</summary>
    private static bool Known(DashboardMonitor monitor, string name) => monitor.NodeNames.Contains(name) || monitor.History.Of(name).Count > 0;

    private static IResult UnknownNode(string name) => Results.Problem($"no node named '{name}'", statusCode: StatusCodes.Status404NotFound);

    /// <summary>The body of <c>POST /api/scale</c>.</summary>
    /// <param name="Tier">web or app.</param>
    /// <param name="Size">Its new number of nodes.</param>
    private sealed record ScaleRequest(string? Tier, int? Size);
}
