using System.Globalization;
using Strata.Topology;

namespace Strata.Orchestration.Backups;

/// <summary>
/// The layout of a backup: a folder holding the dump (<c>foobar.sql</c>) and <see cref="BackupManifest"/>. It is made
/// under a hidden temporary name beside its final one and renamed when complete, so a folder under the final name is a
/// finished backup; and it is checked whole (<see cref="VerifyAsync"/>) before a restore changes anything.
/// </summary>
internal static class BackupFolder
{
    /// <summary>The dump's name in the folder.</summary>
    public const string DumpFileName = ManagedDatabase.DatabaseName + ".sql";

    /// <summary>
    /// Where <c>strata backup</c> without <c>-o</c> puts a backup: <c>.strata/backups/20261206T230919Z</c>, or with <c>-2</c>,
    /// <c>-3</c>… when a backup of the same second is there.
    /// </summary>
    public static string DefaultPath(string runFolder, DateTimeOffset now)
    {
        var name = Path.Combine(runFolder, "backups", now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture));
        var path = name;
        for (var n = 2; Directory.Exists(path); n++)
        {
            path = $"{name}-{n}";
        }

        return path;
    }

    /// <summary>The temporary folder a backup into <paramref name="folder"/> is written in: hidden, beside it (so the rename stays on one file system).</summary>
    public static string TemporaryPath(string folder) =>
        Path.Combine(Path.GetDirectoryName(folder)!, $".{Path.GetFileName(folder)}.partial-{Guid.NewGuid().ToString("N")[..8]}");

    /// <summary>
    /// Checks that <paramref name="folder"/> is a finished, unchanged backup of the managed database: a manifest this
    /// version reads, naming a dump file in the folder whose size and SHA-256 are the manifest's, that mariadb-dump
    /// finished, and that would not set the server's replication state when loaded.
    /// </summary>
    /// <returns>The manifest and the dump's path.</returns>
    /// <exception cref="BackupException">What is wrong with it.</exception>
    public static async Task<(BackupManifest Manifest, string DumpPath)> VerifyAsync(string folder, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(folder))
        {
            throw new BackupException($"{folder} does not exist");
        }

        var manifestPath = Path.Combine(folder, BackupManifest.FileName);
        if (!File.Exists(manifestPath))
        {
            throw new BackupException($"{folder} is not a finished backup: it has no {BackupManifest.FileName} (a backup that did not finish has none)");
        }

        var manifest = BackupManifest.Parse(await File.ReadAllTextAsync(manifestPath, cancellationToken), out var problem)
            ?? throw new BackupException($"{manifestPath} is not a backup manifest: {problem}");
        var dump = manifest.Dump;
        if (manifest.Database != ManagedDatabase.DatabaseName)
        {
            throw new BackupException($"{manifestPath}: the backup is of the schema '{manifest.Database}', not of '{ManagedDatabase.DatabaseName}'");
        }

        // A plain name in the folder: a manifest must not make restore load a file from elsewhere.
        if (dump.File != Path.GetFileName(dump.File) || dump.File is "." or ".." || dump.File.Contains('\n', StringComparison.Ordinal))
        {
            throw new BackupException($"{manifestPath}: dump.file '{dump.File}' is not the name of a file in the backup's folder");
        }

        var dumpPath = Path.Combine(folder, dump.File);
        if (!File.Exists(dumpPath))
        {
            throw new BackupException($"{folder} is incomplete: its dump {dump.File} is missing");
        }

        var facts = await DumpFile.ReadAsync(dumpPath, cancellationToken);
        if (facts.Size != dump.Size)
        {
            throw new BackupException($"{dumpPath} is {facts.Size} bytes, the manifest says {dump.Size}: the backup is partial or was changed; nothing restored");
        }

        if (!string.Equals(facts.Sha256, dump.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new BackupException($"{dumpPath} does not match its manifest (SHA-256 {facts.Sha256}, the manifest says {dump.Sha256}): it was changed after the backup; nothing restored");
        }

        if (!facts.Complete)
        {
            throw new BackupException($"{dumpPath} does not end as a finished dump does ('-- Dump completed'); nothing restored");
        }

        if (facts.ReplicationStatement is { } statement)
        {
            throw new BackupException(
                $"{dumpPath} would change the server's replication state when loaded ({statement}); strata backup writes those as comments (--master-data=2); nothing restored");
        }

        return (manifest, dumpPath);
    }
}

/// <summary>A backup or restore that could not be done, with the reason (exit code 1).</summary>
internal sealed class BackupException(string message) : Exception(message);
