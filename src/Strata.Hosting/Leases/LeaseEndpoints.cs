using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Strata.Hosting.Admin;

namespace Strata.Hosting.Leases;

/// <summary>
/// <c>POST /lease/database</c> among a node's management routes: the node votes on who is the database primary
/// (<see cref="LeaseVoter"/>). The candidates prove they belong to the topology with a bearer token derived from a
/// secret the database nodes and app nodes share (<c>ManagedDatabaseAccount.LeaseToken</c>): without it, 401.
/// </summary>
public static class LeaseEndpoints
{
    /// <summary>The route, on every voter's management address.</summary>
    public const string Path = "/lease/database";

    /// <summary>Maps the voter on <paramref name="management"/>.</summary>
    public static void MapLeaseVoting(this RouteGroupBuilder management, LeaseVoter voter, string token)
    {
        ArgumentNullException.ThrowIfNull(voter);
        var secret = AdminToken.Resolve(token) ?? throw new ArgumentException("the lease token is empty", nameof(token));
        management.MapPost(Path, (HttpContext context, LeaseRequest request) =>
            !secret.Matches(context.Request.Headers.Authorization)
                ? Results.Unauthorized()
                : request is not { Candidate.Length: > 0, DurationMs: > 0 and <= 60_000 } || request.Mode is not (LeaseVoter.Strict or LeaseVoter.Alone or LeaseVoter.Candidate)
                    ? Results.BadRequest(new { error = "candidate, mode (strict, alone or candidate) and durationMs (1-60000) are required" })
                    : Results.Json(voter.Ask(request)));
    }
}
