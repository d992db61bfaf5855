using System.Text;

namespace Strata.Orchestration.Status;

/// <summary>The human form of <see cref="StatusReport"/>: one aligned line per node.</summary>
public static class StatusText
{
    /// <summary>Formats the report as a table followed by the VIP line.</summary>
    public static string Format(StatusReport report)
    {
        var rows = new List<string[]> { new[] { "NODE", "ROLE", "ADDRESS", "STATE", "PID", "VRRP" } };
        rows.AddRange(report.Nodes.Select(n => new[]
        {
            n.Name, n.Role, n.Address, n.State, n.Pid?.ToString() ?? "-", n.Vrrp is { } v ? $"{v.State} ({v.Priority})" : "",
        }));
        var widths = Enumerable.Range(0, rows[0].Length).Select(i => rows.Max(r => r[i].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var row in rows)
        {
            text.AppendLine(string.Join("  ", row.Select((cell, i) => cell.PadRight(widths[i]))).TrimEnd());
        }

        text.AppendLine(report.Vip.Masters.Count > 1
            ? $"VIP {report.Vip.Address}: SPLIT BRAIN, {string.Join(" and ", report.Vip.Masters)} are {(report.Vip.Masters.Count == 2 ? "both" : "all")} master (they cannot hear each other)"
            : $"VIP {report.Vip.Address}: {(report.Vip.Owner is { } owner ? $"held by {owner}" : "not held")}");
        if (report.Netns is { } netns)
        {
            text.AppendLine($"network {netns.Subnet}: this host is {netns.HostAddress} on {netns.HostLink}; 'ip netns exec NAMESPACE ...' runs inside a node (see status --json)");
        }

        return text.ToString();
    }
}
