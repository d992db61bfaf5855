using Microsoft.AspNetCore.Http;
using Strata.Hosting.Admin;

namespace Strata.Orchestration.Dashboard;

/// <summary>
/// The page's buttons: drain, ready, maintenance, kill and start a node, scale a tier. Each needs the run's admin token
/// (the one the nodes' admin API takes) as a bearer token, compared in constant time; each is the orchestrator's own
/// command, as <c>strata kill</c> or <c>strata scale</c> would run it, one at a time (a second one while the first is
/// not finished is refused: two scales at once would both rewrite the file). Each one done is written to the
/// dashboard's output (the foreground <c>up</c>'s terminal, or <c>.strata/logs/dashboard.log</c>); the token never is.
/// </summary>
/// <param name="run">The run acted on.</param>
/// <param name="output">Where each action is reported.</param>
/// <param name="stopping">Fires when the dashboard stops; an action goes on when the page that asked for it goes away.</param>
internal sealed class DashboardActions(DashboardRun run, TextWriter output, CancellationToken stopping)
{
    /// <summary>What a node's buttons do: the proxies' admin states (web and app nodes), and the process itself.</summary>
    public static readonly IReadOnlyList<string> NodeActions = ["drain", "ready", "maintenance", "kill", "start"];

    private readonly SemaphoreSlim _one = new(1, 1);
    private string? _running;

    /// <summary>Null when the request carries the admin token; else the answer: 401 (missing or wrong), or 503 when the run has none.</summary>
    public IResult? Refusal(HttpContext context)
    {
        if (AdminToken.Resolve(run.Orchestrator(TextWriter.Null).AdminToken()) is not { } token)
        {
            return Results.Problem("no admin token: none in the topology and no run token (is the topology running?)", statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        if (token.Matches(context.Request.Headers.Authorization))
        {
            return null;
        }

        context.Response.Headers.WWWAuthenticate = "Bearer";
        return Results.Problem(
            "the admin token is missing or wrong: Authorization: Bearer TOKEN, with admin.token of strata.json, else .strata/admin-token",
            statusCode: StatusCodes.Status401Unauthorized);
    }

    /// <summary>Runs <paramref name="node"/>'s <paramref name="action"/>, one of <see cref="NodeActions"/>.</summary>
    public Task<IResult> NodeAsync(string node, string action) => RunAsync($"{action} {node}", orchestrator => action switch
    {
        "kill" => orchestrator.KillAsync(node),
        "start" => orchestrator.StartAsync(node, stopping),
        _ => orchestrator.TellProxiesAsync(node, action, stopping),
    });

    /// <summary>Sets <paramref name="tier"/> to <paramref name="size"/> nodes, as <c>strata scale TIER=N</c>.</summary>
    public Task<IResult> ScaleAsync(string tier, int size) =>
        RunAsync($"scale {tier}={size}", orchestrator => orchestrator.ScaleAsync([(tier, size)], stopping));

    /// <summary>200 when the command exited 0, 400 when it refused (2), 409 when it failed (1), or when another action runs.</summary>
    private async Task<IResult> RunAsync(string what, Func<Orchestrator, Task<int>> action)
    {
        if (!await _one.WaitAsync(0, CancellationToken.None))
        {
            return Results.Json(new ActionResult(false, $"busy: '{_running}' is not finished yet"), statusCode: StatusCodes.Status409Conflict);
        }

        try
        {
            _running = what;
            var said = new StringWriter();
            var code = await action(run.Orchestrator(said));
            var text = said.ToString().Trim();
            output.WriteLine($"dashboard: {what}: {text.ReplaceLineEndings("; ")}");
            return Results.Json(new ActionResult(code == 0, text), statusCode: code switch
            {
                0 => StatusCodes.Status200OK,
                2 => StatusCodes.Status400BadRequest,
                _ => StatusCodes.Status409Conflict,
            });
        }
        finally
        {
            _running = null;
            _one.Release();
        }
    }
}
