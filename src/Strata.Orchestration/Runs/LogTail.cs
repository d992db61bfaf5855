using System.Text;

namespace Strata.Orchestration.Runs;

/// <summary>The last lines of a node's log, read from its end: a log grows for as long as the run lasts.</summary>
internal static class LogTail
{
    /// <summary>How far from the end it reads: enough for a few hundred one-line entries.</summary>
    private const int MaxBytes = 64 * 1024;

    /// <summary>The last <paramref name="count"/> lines of <paramref name="path"/> (fewer when the file has fewer); empty when it does not exist.</summary>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static IReadOnlyList<string> Read(string path, int count)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        // The node keeps writing it: share it, and read what is there now.
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var start = Math.Max(0, file.Length - MaxBytes);
        file.Seek(start, SeekOrigin.Begin);
        var buffer = new byte[file.Length - start];
        var read = file.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        var lines = Encoding.UTF8.GetString(buffer, 0, read).Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        if (start > 0)
        {
            // The read began inside a line: not that piece.
            lines.RemoveAt(0);
        }

        if (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        var from = Math.Max(0, lines.Count - count);
        return lines.GetRange(from, lines.Count - from);
    }
}
