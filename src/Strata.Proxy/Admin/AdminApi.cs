using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Strata.Proxy.Routing;
using Strata.Proxy.Stats;
using Strata.Proxy.Upstreams;

namespace Strata.Proxy.Admin;

/// <summary>
/// What the admin routes do: list the servers, set a server's weight or admin state (HAProxy's
/// <c>set server ... weight|state</c> on the runtime API). Each change is logged once.
/// </summary>
internal sealed partial class AdminApi(Backends backends, StatsReporter stats, TimeProvider time, ILogger<AdminApi> logger)
{
    public const int MaxWeight = 256;

    public IResult Servers() => Results.Json(stats.Report(), ProxyJsonContext.Default.StatsReport);

    public async Task<IResult> SetWeightAsync(string name, HttpRequest request)
    {
        if (Find(name) is not { } upstream)
        {
            return UnknownServer(name);
        }

        int weight;
        try
        {
            using var body = await JsonDocument.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted);
            if (body.RootElement.ValueKind != JsonValueKind.Object || !body.RootElement.TryGetProperty("weight", out var value))
            {
                return BadRequest("the body must be a JSON object with a \"weight\" field, e.g. {\"weight\": 10}");
            }

            if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out weight) || weight is < 0 or > MaxWeight)
            {
                return BadRequest($"weight: must be a whole number from 0 to {MaxWeight}, got {value.GetRawText()}");
            }
        }
        catch (JsonException ex)
        {
            return BadRequest($"the body is not valid JSON: {ex.Message}");
        }

        upstream.Weight = weight;
        LogWeightSet(upstream.Name, weight);
        return Server(upstream);
    }

    public IResult SetState(string name, AdminState state)
    {
        if (Find(name) is not { } upstream)
        {
            return UnknownServer(name);
        }

        upstream.AdminState = state;
        LogStateSet(upstream.Name, state switch
        {
            AdminState.Drain => "DRAIN",
            AdminState.Maintenance => "MAINT",
            _ => "READY",
        });
        return Server(upstream);
    }

    /// <summary>The server named <paramref name="name"/> in any of the node's pools.</summary>
    private Upstream? Find(string name)
    {
        foreach (var pool in backends.All)
        {
            if (pool.Find(name) is { } upstream)
            {
                return upstream;
            }
        }

        return null;
    }

    private IResult Server(Upstream upstream) =>
        Results.Json(stats.Server(upstream, time.GetUtcNow()), ProxyJsonContext.Default.ServerStats);

    private IResult UnknownServer(string name) => Results.Problem(
        statusCode: StatusCodes.Status404NotFound,
        title: "Unknown server",
        detail: $"no server named '{name}' in backend {backends.Default.TierName}; the servers are: {string.Join(", ", backends.All.SelectMany(p => p.Members).Select(m => m.Name))}");

    private static IResult BadRequest(string detail) =>
        Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad request", detail: detail);

    [LoggerMessage(EventId = 40, Level = LogLevel.Information, Message = "{Server} set to {State} by admin API")]
    private partial void LogStateSet(string server, string state);

    [LoggerMessage(EventId = 41, Level = LogLevel.Information, Message = "{Server} weight set to {Weight} by admin API")]
    private partial void LogWeightSet(string server, int weight);
}
