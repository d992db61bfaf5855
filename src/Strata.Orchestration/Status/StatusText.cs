using System.Globalization;
using System.Text;

namespace Strata.Orchestration.Status;

/// <summary>The human form of <see cref="StatusReport"/>: one aligned line per node.</summary>
public static class StatusText
{
    /// <summary>Formats the report as a table followed by the VIP line, and a line for each node a proxy in front sees otherwise.</summary>
    public static string Format(StatusReport report)
    {
        var rows = new List<string[]> { new[] { "NODE", "ROLE", "ADDRESS", "STATE", "PID", "UPTIME", "REQ/S", "ERRORS", "VRRP" } };
        rows.AddRange(report.Nodes.Select(n => new[]
        {
            n.Name, n.Role, n.Address, n.State, n.Pid?.ToString(CultureInfo.InvariantCulture) ?? "-",
            n.UptimeSeconds is { } uptime ? Duration(uptime) : "-",
            n.RequestsPerSecond is { } rate ? rate.ToString("0.#", CultureInfo.InvariantCulture) : "-",
            n.ErrorRate is { } errors ? errors.ToString("0.0%", CultureInfo.InvariantCulture) : "-",
            n.Vrrp is { } v ? $"{v.State} ({v.Priority})" : "",
        }));
        var text = new StringBuilder();
        TextTable.Append(text, rows);

        text.AppendLine(report.Vip.Masters.Count > 1
            ? $"VIP {report.Vip.Address}: SPLIT BRAIN, {string.Join(" and ", report.Vip.Masters)} are {(report.Vip.Masters.Count == 2 ? "both" : "all")} master (they cannot hear each other)"
            : $"VIP {report.Vip.Address}: {(report.Vip.Owner is { } owner ? $"held by {owner}" : "not held")}");
        if (report.Nodes.Where(n => n.Replication is not null).Select(n => n.Replication!.Describe(n.Name)).ToList() is { Count: > 0 } databases)
        {
            text.AppendLine($"database: {string.Join("; ", databases)}");
        }

        foreach (var node in report.Nodes)
        {
            if (Expected(node.State) is { } expected && node.SeenBy is { } seen && seen.Values.Any(v => v != expected))
            {
                text.AppendLine($"{node.Name} is {node.State}, but not for every proxy in front: {string.Join(", ", seen.Select(p => $"{p.Key} has it {p.Value}"))}");
            }
        }

        if (report.Netns is { } netns)
        {
            text.AppendLine($"network {netns.Subnet}: this host is {netns.HostAddress} on {netns.HostLink}; 'ip netns exec NAMESPACE ...' runs inside a node (see status --json)");
        }

        return text.ToString();
    }

    /// <summary>How a proxy in front shows a node in <paramref name="state"/>; null where it may show anything (starting, down).</summary>
    private static string? Expected(string state) => state switch
    {
        NodeStates.Ready => "UP",
        NodeStates.Draining => "DRAIN",
        NodeStates.Maintenance => "MAINT",
        _ => null,
    };

    /// <summary>Like ps and docker: 45s, 12m03s, 3h04m, 2d05h.</summary>
    internal static string Duration(long seconds) => seconds switch
    {
        < 60 => $"{seconds}s",
        < 3600 => $"{seconds / 60}m{seconds % 60:00}s",
        < 86400 => $"{seconds / 3600}h{seconds / 60 % 60:00}m",
        _ => $"{seconds / 86400}d{seconds / 3600 % 24:00}h",
    };
}
