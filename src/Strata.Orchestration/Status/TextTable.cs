using System.Text;

namespace Strata.Orchestration.Status;

/// <summary>Rows of cells as aligned columns, two spaces apart, as <c>ps</c> and <c>docker ps</c> print them.</summary>
internal static class TextTable
{
    /// <summary>Appends <paramref name="rows"/> (the header first) to <paramref name="text"/>, each column as wide as its widest cell.</summary>
    public static void Append(StringBuilder text, IReadOnlyList<string[]> rows, string indent = "")
    {
        var widths = Enumerable.Range(0, rows[0].Length).Select(i => rows.Max(r => r[i].Length)).ToArray();
        foreach (var row in rows)
        {
            text.AppendLine(indent + string.Join("  ", row.Select((cell, i) => cell.PadRight(widths[i]))).TrimEnd());
        }
    }
}
