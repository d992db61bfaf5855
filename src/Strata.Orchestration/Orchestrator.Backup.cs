using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using MySqlConnector;
using Strata.Orchestration.Backups;

namespace Strata.Orchestration;

/// <summary>
/// <c>strata backup</c> and <c>strata restore</c> (docs/backup.md): a consistent dump of the managed database's primary
/// while writes go on, and the application's schema replaced by one, through the primary's binary log so the replicas
/// follow. Both need the topology running with its managed database; the primary is asked for (<see cref="PrimaryFinder"/>).
/// </summary>
public sealed partial class Orchestrator
{
    private const string NoManagedDatabase =
        "this topology has no managed database (\"database\": {\"engine\": \"mysql\", \"managed\": true}, or 'strata up --db mysql'): " +
        "strata backs up only the MariaDB it runs itself";

    /// <summary>
    /// Backs up the primary into <paramref name="folder"/> (default <c>.strata/backups/UTC-TIME</c>; it must not exist or
    /// be empty): the schema's dump and a manifest, written under a temporary name and renamed when complete.
    /// </summary>
    /// <returns>0 when the backup is complete; 1 when it failed (nothing kept); 2 when nothing runs, there is no managed
    /// database, or the folder is taken.</returns>
    public async Task<int> BackupAsync(string? folder, CancellationToken cancellationToken)
    {
        if (CheckManagedDatabaseRuns() is { } refusal)
        {
            return Refuse(refusal);
        }

        var target = Path.GetFullPath(folder ?? BackupFolder.DefaultPath(_run.Root, TimeProvider.System.GetUtcNow()));
        if (File.Exists(target) || (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any()))
        {
            return Refuse($"{target} already exists: a backup goes into a new (or empty) folder");
        }

        var search = await FindPrimaryAsync(cancellationToken);
        if (search.Primary is not { } primary)
        {
            return Fail($"backup failed: {search.Problem}");
        }

        var started = Stopwatch.StartNew();
        BackupManifest manifest;
        try
        {
            manifest = await DatabaseBackup.CreateAsync(primary, target, StrataVersion(), TimeProvider.System, cancellationToken);
        }
        catch (Exception ex) when (ex is BackupException or IOException or UnauthorizedAccessException)
        {
            return Fail($"backup of {primary.Node.Name} failed, nothing kept: {ex.Message}");
        }

        output.WriteLine(
            $"backed up {manifest.Database} on {primary.Node.Name} (the primary) at GTID {manifest.GtidPosition} in {started.Elapsed.TotalSeconds:0.0} s: " +
            $"{target} ({manifest.Dump.File}, {Bytes(manifest.Dump.Size)}, SHA-256 {manifest.Dump.Sha256[..16]}…)");
        return 0;
    }

    /// <summary>
    /// Restores the backup in <paramref name="folder"/> into the running primary: the backup is checked first (manifest,
    /// size, SHA-256: a changed or partial one is refused and nothing changes); then the schema is dropped and made again
    /// from the dump, in the primary's binary log, and the replicas are given <see cref="DatabaseBackup.ReplicaWait"/> to replay it.
    /// </summary>
    /// <returns>0 when restored on the primary (a replica slow to replay it is reported, not failed); 1 when the backup is
    /// refused, there is no primary, or the load failed; 2 when nothing runs or there is no managed database.</returns>
    public async Task<int> RestoreAsync(string folder, CancellationToken cancellationToken)
    {
        ReadRun();
        if (!_layout.Database.Managed)
        {
            return Refuse(NoManagedDatabase);
        }

        folder = Path.GetFullPath(folder);
        BackupManifest manifest;
        string dumpPath;
        try
        {
            (manifest, dumpPath) = await BackupFolder.VerifyAsync(folder, cancellationToken);
        }
        catch (Exception ex) when (ex is BackupException or IOException or UnauthorizedAccessException)
        {
            return Fail($"not restored: {ex.Message}");
        }

        output.WriteLine(
            $"{folder}: a backup of {manifest.SourceNode} taken {manifest.CreatedAt.ToString("u", CultureInfo.InvariantCulture)} at GTID {manifest.GtidPosition}; " +
            $"{manifest.Dump.File} ({Bytes(manifest.Dump.Size)}) matches its manifest");
        if (CheckManagedDatabaseRuns() is { } refusal)
        {
            return Refuse(refusal);
        }

        var search = await FindPrimaryAsync(cancellationToken);
        if (search.Primary is not { } primary)
        {
            return Fail($"not restored: {search.Problem}");
        }

        var started = Stopwatch.StartNew();
        (string GtidPosition, int Tables) restored;
        try
        {
            restored = await DatabaseBackup.RestoreAsync(primary, dumpPath, cancellationToken);
        }
        catch (Exception ex) when (ex is BackupException or MySqlException)
        {
            return Fail($"restore into {primary.Node.Name} failed: {ex.Message}; the schema {manifest.Database} may be partly restored: 'strata restore {folder}' again replaces it whole");
        }

        output.WriteLine(
            $"restored {manifest.Database} on {primary.Node.Name} (the primary) in {started.Elapsed.TotalSeconds:0.0} s: {restored.Tables} table(s); its GTID position is now {restored.GtidPosition}");
        foreach (var down in search.Nodes.Where(n => !n.Running))
        {
            output.WriteLine($"{down.Node.Name} is down: it replays the restore from the primary's binary log when it is back as a replica");
        }

        var replicas = await DatabaseBackup.WaitForReplicasAsync(search.Replicas, restored.GtidPosition, DatabaseBackup.ReplicaWait, cancellationToken);
        foreach (var (replica, caughtUp) in replicas)
        {
            if (caughtUp)
            {
                output.WriteLine($"{replica.Node.Name} (replica) has replayed it");
            }
            else
            {
                (error ?? output).WriteLine(
                    $"strata: {replica.Node.Name} (replica) has not replayed it within {DatabaseBackup.ReplicaWait.TotalSeconds:0} s: look at its replication ('SHOW REPLICA STATUS' on its socket, {replica.Socket})");
            }
        }

        return 0;
    }

    /// <summary>Why a backup or restore cannot run now (a usage error), or null.</summary>
    private string? CheckManagedDatabaseRuns()
    {
        var running = RunningNodes();
        if (!_layout.Database.Managed)
        {
            return NoManagedDatabase;
        }

        return running.Count == 0
            ? "not running: a backup is taken from, and a restore loaded into, the running topology's primary; 'strata up --db mysql' starts it"
            : null;
    }

    private Task<PrimarySearch> FindPrimaryAsync(CancellationToken cancellationToken)
    {
        var running = RunningNodes().Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        return PrimaryFinder.FindAsync(_layout.Database, running, cancellationToken);
    }

    /// <summary>This strata's version (with its commit, when built from git), for the manifest.</summary>
    private static string? StrataVersion() =>
        typeof(Orchestrator).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;

    private static string Bytes(long size) => size switch
    {
        < 1024 => $"{size} B",
        < 1024 * 1024 => $"{size / 1024.0:0.0} KiB",
        _ => $"{size / (1024.0 * 1024):0.0} MiB",
    };
}
