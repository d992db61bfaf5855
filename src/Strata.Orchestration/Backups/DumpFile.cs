using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Strata.Orchestration.Backups;

/// <summary>
/// What a dump file of <c>mariadb-dump --master-data=2 --gtid</c> says besides its statements, read in one pass: its size
/// and SHA-256, the replication position of its snapshot (written as comments: <c>-- SET GLOBAL gtid_slave_pos='…';</c>
/// and <c>-- CHANGE MASTER TO MASTER_LOG_FILE=…, MASTER_LOG_POS=…;</c>), whether mariadb-dump reached its end
/// (<c>-- Dump completed</c>), and the first statement that would change the replication state of the server it is
/// loaded into (none in a dump <c>strata backup</c> made: with <c>--master-data=2</c> those are comments).
/// </summary>
/// <param name="Size">Its length in bytes.</param>
/// <param name="Sha256">The SHA-256 of its bytes, lower-case hexadecimal.</param>
/// <param name="GtidPosition">The GTID position of the snapshot (empty when the server never logged a transaction), or null when the dump does not say.</param>
/// <param name="BinlogFile">The primary's binary log file at the snapshot, or null.</param>
/// <param name="BinlogPosition">The position in <paramref name="BinlogFile"/>, or null.</param>
/// <param name="Complete">Whether it ends as mariadb-dump ends a dump it finished.</param>
/// <param name="ReplicationStatement">The first executable statement that would set the GTID position, replication or
/// <c>sql_log_bin</c> (its line number and text), or null.</param>
internal sealed partial record DumpFile(
    long Size, string Sha256, string? GtidPosition, string? BinlogFile, long? BinlogPosition, bool Complete, string? ReplicationStatement)
{
    /// <summary>Reads the file at <paramref name="path"/>.</summary>
    /// <exception cref="IOException">It cannot be read.</exception>
    public static async Task<DumpFile> ReadAsync(string path, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, useAsync: true);
        using var sha256 = SHA256.Create();
        string? gtid = null, binlogFile = null, replication = null;
        long? binlogPosition = null;
        var complete = false;
        long lineNumber = 0;
        // The hash is of the bytes as read; the lines are only looked at (a dump is UTF-8, but any byte may be in it).
        await using (var hashing = new CryptoStream(file, sha256, CryptoStreamMode.Read, leaveOpen: true))
        using (var reader = new StreamReader(hashing, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16))
        {
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                lineNumber++;
                if (line.StartsWith("--", StringComparison.Ordinal))
                {
                    if (GtidComment().Match(line) is { Success: true } g)
                    {
                        gtid = g.Groups[1].Value;
                    }
                    else if (BinlogComment().Match(line) is { Success: true } b)
                    {
                        binlogFile = b.Groups[1].Value;
                        binlogPosition = long.Parse(b.Groups[2].ValueSpan, CultureInfo.InvariantCulture);
                    }

                    // Only the last line counts: a dump cut short may hold the words elsewhere.
                    complete = line.StartsWith("-- Dump completed", StringComparison.Ordinal);
                }
                else if (line.Length > 0)
                {
                    complete = false;
                    if (replication is null && ReplicationStatementLine().IsMatch(line))
                    {
                        replication = $"line {lineNumber}: {(line.Length > 120 ? line[..120] + "…" : line)}";
                    }
                }
            }
        }

        return new DumpFile(file.Length, Convert.ToHexStringLower(sha256.Hash!), gtid, binlogFile, binlogPosition, complete, replication);
    }

    /// <summary>mariadb-dump's <c>--master-data=2 --gtid</c> comment, e.g. <c>-- SET GLOBAL gtid_slave_pos='0-1-42';</c>.</summary>
    [GeneratedRegex("^-- SET GLOBAL gtid_slave_pos='([0-9,-]*)';")]
    private static partial Regex GtidComment();

    /// <summary>mariadb-dump's <c>--master-data=2</c> comment with the binary log's file and position.</summary>
    [GeneratedRegex("^-- CHANGE MASTER TO MASTER_LOG_FILE='([^']+)', MASTER_LOG_POS=([0-9]+);")]
    private static partial Regex BinlogComment();

    /// <summary>
    /// A statement, possibly in an executable comment (<c>/*!40101 … */</c>, <c>/*M!100100 … */</c>), that would set the
    /// server's GTID position or replication (<c>--master-data=1</c>, <c>--dump-slave=1</c>) or stop the load from
    /// reaching the binary log (MySQL's <c>SET @@SESSION.SQL_LOG_BIN= 0;</c>). Anchored at the start of the line: rows are
    /// lines of their own in a dump, starting with <c>(</c> or <c>INSERT</c>, so a message's text never matches.
    /// </summary>
    [GeneratedRegex(
        @"^\s*(/\*M?!\d*\s*)?(CHANGE\s+MASTER|RESET\s+(MASTER|SLAVE|REPLICA)|(START|STOP)\s+(SLAVE|REPLICA)|SET\s+(GLOBAL\s+|SESSION\s+|@@GLOBAL\.|@@SESSION\.|@@)?(gtid_\w+|sql_log_bin)\b)",
        RegexOptions.IgnoreCase)]
    private static partial Regex ReplicationStatementLine();
}
