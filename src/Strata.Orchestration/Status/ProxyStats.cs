using System.Text.Json;
using Strata.Topology;

namespace Strata.Orchestration.Status;

/// <summary>What one running proxy's <c>/stats?format=json</c> says, as far as <c>status</c> needs it.</summary>
/// <param name="Proxy">The proxy (a load balancer or a web node).</param>
/// <param name="RequestsPerSecond">Requests it answered per second over the last ten seconds.</param>
/// <param name="ServerErrorsPerSecond">Those it answered with a 5xx.</param>
/// <param name="Servers">Each server of each of its pools (a server in two pools appears twice).</param>
internal sealed record ProxyStats(string Proxy, double RequestsPerSecond, double ServerErrorsPerSecond, IReadOnlyList<ServerView> Servers)
{
    /// <summary>The fields of Strata.Proxy's StatsReport that status reads.</summary>
    public static ProxyStats Parse(string proxy, JsonElement report) => new(
        proxy,
        report.GetProperty("requestsPerSecond").GetDouble(),
        report.GetProperty("serverErrorsPerSecond").GetDouble(),
        [.. report.GetProperty("backends").EnumerateArray()
            .SelectMany(backend => backend.GetProperty("servers").EnumerateArray())
            .Select(server => new ServerView(
                server.GetProperty("name").GetString() ?? "",
                server.GetProperty("state").GetString() ?? "",
                server.GetProperty("requestsPerSecond").GetDouble(),
                server.GetProperty("failuresPerSecond").GetDouble()))]);
}

/// <summary>A server as a proxy in front of it sees it.</summary>
/// <param name="Name">The server's node name.</param>
/// <param name="State">UP, DOWN, DRAIN or MAINT.</param>
/// <param name="RequestsPerSecond">Requests the proxy sent it per second.</param>
/// <param name="FailuresPerSecond">Those that failed on it.</param>
internal sealed record ServerView(string Name, string State, double RequestsPerSecond, double FailuresPerSecond);

/// <summary>
/// A node's traffic and admin state as <c>status</c> reports them. A web or app node's come from the proxies in front
/// of it, which know whether it was drained or put in maintenance, how many requests they sent it and how many failed
/// there; a load balancer is the front, so its figures are its own answers and their 5xx. Other nodes (DNS, the
/// database server) have none of these.
/// </summary>
/// <param name="AdminState"><see cref="NodeStates.Maintenance"/> or <see cref="NodeStates.Draining"/> when a proxy in front says so, else null.</param>
/// <param name="RequestsPerSecond">Per second over the last ten seconds; null when nobody counts them.</param>
/// <param name="ErrorRate">The failed part of those requests, 0 to 1; null when nobody counts them.</param>
/// <param name="SeenBy">Each running proxy in front and the state it has the node in; null for a node with none.</param>
internal sealed record NodeTraffic(string? AdminState, double? RequestsPerSecond, double? ErrorRate, IReadOnlyDictionary<string, string>? SeenBy)
{
    private static readonly NodeTraffic Unknown = new(null, null, null, null);

    /// <summary>From most to least restrictive: a proxy that has the node in two pools says the first it finds here.</summary>
    private static readonly string[] StateRank = ["MAINT", "DRAIN", "DOWN", "UP"];

    /// <summary><paramref name="node"/>'s traffic from what the running proxies reported.</summary>
    public static NodeTraffic Of(NodeSpec node, IReadOnlyList<ProxyStats> proxies)
    {
        if (node.Role == NodeRole.LoadBalancer)
        {
            return proxies.FirstOrDefault(p => p.Proxy == node.Name) is { } own
                ? new(null, Round(own.RequestsPerSecond), Ratio(own.ServerErrorsPerSecond, own.RequestsPerSecond), null)
                : Unknown;
        }

        var seen = proxies
            .Select(p => (p.Proxy, Views: p.Servers.Where(s => s.Name == node.Name).ToList()))
            .Where(p => p.Views.Count > 0)
            .ToList();
        if (seen.Count == 0)
        {
            return Unknown;
        }

        var seenBy = seen.ToDictionary(p => p.Proxy, p => p.Views.Select(v => v.State).MinBy(Rank)!, StringComparer.Ordinal);
        var adminState = seenBy.Values.Contains("MAINT") ? NodeStates.Maintenance
            : seenBy.Values.Contains("DRAIN") ? NodeStates.Draining
            : null;
        var requests = seen.Sum(p => p.Views.Sum(v => v.RequestsPerSecond));
        var failures = seen.Sum(p => p.Views.Sum(v => v.FailuresPerSecond));
        return new(adminState, Round(requests), Ratio(failures, requests), seenBy);
    }

    private static int Rank(string state) => Array.IndexOf(StateRank, state) is var rank and >= 0 ? rank : StateRank.Length;

    private static double Round(double perSecond) => Math.Round(perSecond, 2);

    private static double Ratio(double failed, double all) => all > 0 ? Math.Round(Math.Min(failed / all, 1), 4) : 0;
}
