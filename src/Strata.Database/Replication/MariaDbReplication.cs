using System.Globalization;
using MySqlConnector;
using Strata.Database.Server;
using Strata.Hosting.Processes;
using Strata.Topology;

namespace Strata.Database.Replication;

/// <summary>What the local server says about its replication, read in one round trip.</summary>
/// <param name="Gtid">gtid_current_pos: every transaction this server holds.</param>
/// <param name="Received">The last transaction received from a primary (Gtid_IO_Pos), or <paramref name="Gtid"/>.</param>
/// <param name="ReadOnly">@@read_only.</param>
/// <param name="Replicating">Both replication threads run.</param>
/// <param name="ReplicaError">The replication threads' error number (I/O first), 0 when none.</param>
/// <param name="ReplicaErrorText">Its message.</param>
/// <param name="Lag">Seconds_Behind_Master, or null when not replicating.</param>
/// <param name="SemiSyncOn">The semi-sync primary waits for acknowledgements (Rpl_semi_sync_master_status).</param>
/// <param name="SemiSyncReplicas">Replicas connected with semi-sync (Rpl_semi_sync_master_clients).</param>
/// <param name="WaitingCommits">Commits waiting for an acknowledgement (Rpl_semi_sync_master_wait_sessions).</param>
/// <param name="AcknowledgedCommits">Commits a replica has acknowledged since the server started (Rpl_semi_sync_master_yes_tx).</param>
internal sealed record LocalReplication(
    string Gtid,
    string Received,
    bool ReadOnly,
    bool Replicating,
    int ReplicaError,
    string? ReplicaErrorText,
    double? Lag,
    bool SemiSyncOn,
    int SemiSyncReplicas,
    int WaitingCommits,
    long AcknowledgedCommits)
{
    /// <summary>The sequence number of the last transaction held (domain 0), 0 for none.</summary>
    public long Sequence => GtidPosition.Sequence(Gtid);

    /// <summary>The sequence number of the last transaction received, held or not yet applied.</summary>
    public long ReceivedSequence => Math.Max(Sequence, GtidPosition.Sequence(Received));
}

/// <summary>GTID positions as MariaDB writes them ("domain-server-sequence", comma-separated per domain).</summary>
internal static class GtidPosition
{
    /// <summary>The sequence number in domain 0, 0 when the position is empty.</summary>
    public static long Sequence(string? position)
    {
        foreach (var part in (position ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var pieces = part.Split('-');
            if (pieces.Length == 3 && pieces[0] == "0" && long.TryParse(pieces[2], NumberStyles.None, CultureInfo.InvariantCulture, out var sequence))
            {
                return sequence;
            }
        }

        return 0;
    }
}

/// <summary>
/// The replication statements a database node runs on its own server (as the administrator, over the socket): read
/// the state, follow a primary (after copying it when this server is new), stop following and take writes,
/// switch the semi-sync wait. MariaDB's own replication does the work; this only says when.
/// </summary>
internal sealed class MariaDbReplication(MariaDbServer server, MariaDbInstallation installation, string replicationPassword)
{
    /// <summary>ER_MASTER_FATAL_ERROR_READING_BINLOG: the primary does not have the position asked for (this server holds transactions it never had).</summary>
    public const int Diverged = 1236;

    private static readonly TimeSpan CopyTimeout = TimeSpan.FromMinutes(10);

    public async Task<LocalReplication> ReadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await server.OpenAdminAsync(cancellationToken);
        await using var command = new MySqlCommand(
            "SELECT @@gtid_current_pos, @@read_only;" +
            "SHOW GLOBAL STATUS WHERE Variable_name IN ('Rpl_semi_sync_master_status', 'Rpl_semi_sync_master_clients', 'Rpl_semi_sync_master_wait_sessions', 'Rpl_semi_sync_master_yes_tx');" +
            "SHOW SLAVE STATUS;",
            connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var gtid = reader.GetString(0);
        var readOnly = reader.GetInt32(1) != 0;
        await reader.NextResultAsync(cancellationToken);
        var status = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        while (await reader.ReadAsync(cancellationToken))
        {
            status[reader.GetString(0)] = reader.GetString(1);
        }

        await reader.NextResultAsync(cancellationToken);
        var received = gtid;
        var replicating = false;
        var error = 0;
        string? errorText = null;
        double? lag = null;
        if (await reader.ReadAsync(cancellationToken))
        {
            string Column(string name) => reader[name] is string text ? text : Convert.ToString(reader[name], CultureInfo.InvariantCulture) ?? "";
            received = Column("Gtid_IO_Pos");
            replicating = Column("Slave_IO_Running") == "Yes" && Column("Slave_SQL_Running") == "Yes";
            var ioError = int.Parse(Column("Last_IO_Errno"), CultureInfo.InvariantCulture);
            var sqlError = int.Parse(Column("Last_SQL_Errno"), CultureInfo.InvariantCulture);
            error = ioError != 0 ? ioError : sqlError;
            errorText = error == 0 ? null : ioError != 0 ? Column("Last_IO_Error") : Column("Last_SQL_Error");
            lag = double.TryParse(Column("Seconds_Behind_Master"), CultureInfo.InvariantCulture, out var seconds) ? seconds : null;
        }

        return new LocalReplication(
            gtid,
            received,
            readOnly,
            replicating,
            error,
            errorText,
            lag,
            status.GetValueOrDefault("Rpl_semi_sync_master_status") == "ON",
            int.Parse(status.GetValueOrDefault("Rpl_semi_sync_master_clients", "0"), CultureInfo.InvariantCulture),
            int.Parse(status.GetValueOrDefault("Rpl_semi_sync_master_wait_sessions", "0"), CultureInfo.InvariantCulture),
            long.Parse(status.GetValueOrDefault("Rpl_semi_sync_master_yes_tx", "0"), CultureInfo.InvariantCulture));
    }

    /// <summary>Replicates from <paramref name="primary"/> by GTID, read-only, a semi-sync replica.</summary>
    public async Task FollowAsync(NodeSpec primary, CancellationToken cancellationToken)
    {
        await ExecuteAsync(
            $"""
            SET GLOBAL read_only = 1;
            SET GLOBAL rpl_semi_sync_master_enabled = 0;
            SET GLOBAL rpl_semi_sync_slave_enabled = 1;
            STOP SLAVE;
            CHANGE MASTER TO MASTER_HOST = '{primary.Address.Address}', MASTER_PORT = {primary.Address.Port.ToString(CultureInfo.InvariantCulture)},
              MASTER_USER = '{ManagedDatabase.ReplicationUserName}', MASTER_PASSWORD = @password,
              MASTER_USE_GTID = current_pos, MASTER_CONNECT_RETRY = 1, MASTER_HEARTBEAT_PERIOD = 1;
            START SLAVE;
            """,
            cancellationToken);
    }

    /// <summary>Stops replicating (after applying what was received, for up to <paramref name="apply"/>) and takes writes.</summary>
    public async Task PromoteAsync(TimeSpan apply, CancellationToken cancellationToken)
    {
        await ExecuteAsync("STOP SLAVE IO_THREAD;", cancellationToken);
        var deadline = DateTime.UtcNow + apply;
        while (DateTime.UtcNow < deadline)
        {
            var state = await ReadAsync(cancellationToken);
            if (state.Sequence >= state.ReceivedSequence)
            {
                break;
            }

            await Task.Delay(50, cancellationToken);
        }

        await ExecuteAsync("STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only = 0;", cancellationToken);
    }

    /// <summary>Stops taking writes: read-only, so that every commit under way ends and no new one starts.</summary>
    public Task StopWritesAsync(CancellationToken cancellationToken) => ExecuteAsync("SET GLOBAL read_only = 1;", cancellationToken);

    /// <summary>Takes writes again (a switchover that did not happen).</summary>
    public Task ResumeWritesAsync(CancellationToken cancellationToken) => ExecuteAsync("SET GLOBAL read_only = 0;", cancellationToken);

    /// <summary>Whether a commit waits for a replica's acknowledgement (semi-sync on the primary).</summary>
    public Task SetSemiSyncAsync(bool on, CancellationToken cancellationToken) =>
        ExecuteAsync($"SET GLOBAL rpl_semi_sync_master_enabled = {(on ? 1 : 0)};", cancellationToken);

    /// <summary>Stops replicating (a node that holds transactions its primary never had).</summary>
    public Task StopFollowingAsync(CancellationToken cancellationToken) => ExecuteAsync("STOP SLAVE;", cancellationToken);

    /// <summary>
    /// Copies <paramref name="primary"/>'s data into this new server: mariadb-dump of the application's schema in one
    /// transaction with its GTID position, loaded here outside the binary log, which sets gtid_slave_pos to that
    /// position, so following it by GTID then starts exactly after the copy.
    /// </summary>
    /// <exception cref="DatabaseServerException">The copy or the load failed.</exception>
    public async Task CopyFromAsync(NodeSpec primary, string scratchFolder, CancellationToken cancellationToken)
    {
        var dump = Path.Combine(scratchFolder, "copy.sql");
        var credentials = Path.Combine(scratchFolder, "copy.cnf");
        // The password in a 0600 file for the one command, never on a command line (ps shows those).
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("the credentials file needs Unix file modes");
        }

        await using (var file = new FileStream(credentials, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
        {
            await file.WriteAsync(System.Text.Encoding.UTF8.GetBytes($"[client]\nuser={ManagedDatabase.ReplicationUserName}\npassword={replicationPassword}\n"), cancellationToken);
        }

        try
        {
            var copied = await Programs.RunAsync(
                installation.Dump,
                [
                    $"--defaults-file={credentials}", $"--host={primary.Address.Address}", $"--port={primary.Address.Port.ToString(CultureInfo.InvariantCulture)}",
                    "--single-transaction", "--gtid", "--master-data=1", "--routines", "--triggers", "--events",
                    $"--result-file={dump}", "--databases", ManagedDatabase.DatabaseName,
                ],
                CopyTimeout,
                cancellationToken);
            if (copied.ExitCode != 0)
            {
                throw new DatabaseServerException($"copying {primary.Name} failed: {(copied.Output + copied.Error).Trim()}");
            }

            await ExecuteAsync("STOP SLAVE; RESET SLAVE ALL; RESET MASTER;", cancellationToken);
            var loaded = await Programs.RunAsync(
                installation.Client,
                [$"--socket={server.SocketPath}", $"--user={Environment.UserName}", "--execute", $"SET SESSION sql_log_bin = 0; SOURCE {dump};"],
                CopyTimeout,
                cancellationToken);
            if (loaded.ExitCode != 0)
            {
                throw new DatabaseServerException($"loading the copy of {primary.Name} failed: {(loaded.Output + loaded.Error).Trim()}");
            }
        }
        finally
        {
            File.Delete(credentials);
            File.Delete(dump);
        }
    }

    private async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        await using var connection = await server.OpenAdminAsync(cancellationToken);
        await using var command = new MySqlCommand(sql, connection);
        command.Parameters.AddWithValue("@password", replicationPassword);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
