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

        text.AppendLine($"VIP {report.Vip.Address}: {(report.Vip.Owner is { } owner ? $"held by {owner}" : "not held")}");
        return text.ToString();
    }
}
