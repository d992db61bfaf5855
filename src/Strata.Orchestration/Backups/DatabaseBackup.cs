using System.Globalization;
using MySqlConnector;
using Strata.Topology;

namespace Strata.Orchestration.Backups;

/// <summary>
/// A backup of the managed database's primary and its restore: a logical dump (mariadb-dump) of the application's
/// schema with the replication position of its snapshot, and a manifest (docs/backup.md).
/// </summary>
internal static class DatabaseBackup
{
    /// <summary>How long a restore waits for the replicas to have replayed it before it says which have not.</summary>
    public static readonly TimeSpan ReplicaWait = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Dumps <paramref name="primary"/>'s schema into <paramref name="folder"/>, which must not exist or be empty: written
    /// in a temporary folder beside it (the dump, flushed to disk; then the manifest), renamed to <paramref name="folder"/>
    /// only when complete. On any failure the temporary folder is removed.
    /// </summary>
    /// <exception cref="BackupException">The dump failed, or it does not say its replication position.</exception>
    public static async Task<BackupManifest> CreateAsync(
        DatabaseNodeAnswer primary, string folder, string? strataVersion, TimeProvider time, CancellationToken cancellationToken)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("a backup's folder needs Unix file modes");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(folder)!);
        var temporary = BackupFolder.TemporaryPath(folder);
        // The guestbook's every row is in it: for its owner only, as the database's own files are.
        Directory.CreateDirectory(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            var dumpPath = Path.Combine(temporary, BackupFolder.DumpFileName);
            // The snapshot is taken when the dump starts: everything committed before it is in the backup.
            var started = time.GetUtcNow();
            await MariaDbClients.DumpAsync(primary.Socket, dumpPath, cancellationToken);
            FlushToDisk(dumpPath);
            var dump = await DumpFile.ReadAsync(dumpPath, cancellationToken);
            if (!dump.Complete || dump.GtidPosition is null)
            {
                throw new BackupException($"mariadb-dump exited cleanly but its dump {(dump.Complete ? "has no GTID position" : "is not complete")}");
            }

            var manifest = new BackupManifest(
                BackupManifest.CurrentFormat,
                started.AddTicks(-(started.Ticks % TimeSpan.TicksPerMillisecond)),
                primary.Node.Name,
                ManagedDatabase.DatabaseName,
                dump.GtidPosition,
                new BackupDumpFile(BackupFolder.DumpFileName, dump.Size, dump.Sha256),
                primary.ServerVersion,
                dump.BinlogFile,
                dump.BinlogPosition,
                strataVersion);
            var manifestPath = Path.Combine(temporary, BackupManifest.FileName);
            await File.WriteAllTextAsync(manifestPath, manifest.ToJson(), cancellationToken);
            FlushToDisk(manifestPath);

            if (Directory.Exists(folder))
            {
                // Empty (checked by the caller): the rename needs the name free.
                Directory.Delete(folder);
            }

            Directory.Move(temporary, folder);
            return manifest;
        }
        catch
        {
            Directory.Delete(temporary, recursive: true);
            throw;
        }
    }

    /// <summary>
    /// Replaces <paramref name="primary"/>'s schema with the backup's dump at <paramref name="dumpPath"/> (verified by
    /// <see cref="BackupFolder.VerifyAsync"/>), logged in its binary log so that every replica replays it.
    /// </summary>
    /// <returns>The primary's GTID position once loaded, and how many tables the schema has.</returns>
    /// <exception cref="BackupException">The load failed; the schema may be partly restored.</exception>
    public static async Task<(string GtidPosition, int Tables)> RestoreAsync(DatabaseNodeAnswer primary, string dumpPath, CancellationToken cancellationToken)
    {
        await MariaDbClients.ReplaceSchemaAsync(primary.Socket, dumpPath, cancellationToken);
        await using var connection = await MariaDbClients.OpenAdminAsync(primary.Socket, cancellationToken);
        await using var command = new MySqlCommand(
            "SELECT @@gtid_binlog_pos, (SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = @schema);", connection);
        command.Parameters.AddWithValue("@schema", ManagedDatabase.DatabaseName);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetString(0), reader.GetInt32(1));
    }

    /// <summary>
    /// Waits, up to <paramref name="timeout"/>, until each of <paramref name="replicas"/> has applied the primary's
    /// transactions up to <paramref name="gtidPosition"/> (<c>MASTER_GTID_WAIT</c>).
    /// </summary>
    /// <returns>Each replica with whether it did.</returns>
    public static async Task<IReadOnlyList<(DatabaseNodeAnswer Replica, bool CaughtUp)>> WaitForReplicasAsync(
        IReadOnlyList<DatabaseNodeAnswer> replicas, string gtidPosition, TimeSpan timeout, CancellationToken cancellationToken)
    {
        return await Task.WhenAll(replicas.Select(async replica =>
        {
            try
            {
                await using var connection = await MariaDbClients.OpenAdminAsync(replica.Socket, cancellationToken);
                await using var command = new MySqlCommand("SELECT MASTER_GTID_WAIT(@position, @seconds);", connection)
                {
                    CommandTimeout = (int)timeout.TotalSeconds + 10,
                };
                command.Parameters.AddWithValue("@position", gtidPosition);
                command.Parameters.AddWithValue("@seconds", timeout.TotalSeconds);
                return (replica, Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) == 0);
            }
            catch (MySqlException)
            {
                return (replica, false);
            }
        }));
    }

    /// <summary>The file's data on disk, so a backup that says it is finished survives a crash of this machine.</summary>
    private static void FlushToDisk(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        file.Flush(flushToDisk: true);
    }
}
