using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MySqlConnector;
using Strata.Data.Managed;
using Strata.Hosting.Processes;
using Strata.Topology;

namespace Strata.Database.Server;

/// <summary>
/// Runs the MariaDB server of a managed database as this node's child: on first start it creates the data directory
/// (mariadb-install-db into a scratch folder, renamed when complete, so a crash half-way leaves nothing half made);
/// at every start it starts mariadbd on the node's address with durable settings, waits until it answers on its
/// socket and makes sure the application's schema and account exist. The node lives as long as the server: when
/// mariadbd exits on its own, the node logs the exit code and stops too, so <c>strata status</c> shows it down; when
/// the node is killed, the kernel kills mariadbd (<see cref="ChildProcesses"/>), so no server is left without its node. On
/// stop, mariadbd gets SIGTERM (a clean InnoDB shutdown) and SIGKILL only after <see cref="StopGrace"/>.
/// </summary>
internal sealed partial class MariaDbServer(
    DatabaseSpec database,
    NodeSpec node,
    MariaDbInstallation installation,
    IHostApplicationLifetime lifetime,
    ILogger<MariaDbServer> logger) : IHostedLifecycleService
{
    /// <summary>How long a first start may take to create the data directory and every start to accept connections.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Between SIGTERM and SIGKILL on stop; InnoDB needs a moment to flush.</summary>
    public static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(8);

    private TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _ready;
    private volatile bool _restarting;
    private volatile bool _stopping;
    private Process? _process;

    /// <summary>The node's own folder: <c>.strata/NODE</c>.</summary>
    public string Folder { get; } = ManagedDatabase.NodeFolder(database, node.Name);

    /// <summary>The server's data directory.</summary>
    public string DataDirectory => Path.Combine(Folder, "data");

    /// <summary>
    /// The server's own temporary folder: mariadbd removes the <c>#sql*</c> files it finds in its tmpdir at start, so two
    /// servers sharing /tmp (two starting at once: a test run, two topologies) could remove each other's temporary
    /// tables, which makes mariadb-install-db fail now and then ("Unknown table 'mysql.tmp_user_sys'").
    /// </summary>
    public string TempDirectory => Path.Combine(Folder, "tmp");

    /// <summary>The server's Unix socket, where this node connects as the administrator (never over TCP).</summary>
    public string SocketPath => ManagedDatabase.SocketPath(Folder);

    /// <summary>Whether the server runs and the application's account exists.</summary>
    public bool IsReady => _ready;

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(TempDirectory);
        var password = ManagedDatabaseAccount.CreateOrReadPassword(database);
        if (!Directory.Exists(DataDirectory))
        {
            await InitializeAsync(cancellationToken);
        }

        await WaitForEarlierServerAsync(cancellationToken);
        await StartAndWaitAsync(cancellationToken);
        await EnsureAccountsAsync(password, ManagedDatabaseAccount.CreateOrReadPassword(database, ManagedDatabase.ReplicationPasswordFileName), cancellationToken);
        _ready = true;
        LogServing(logger, node.Name, node.Address.ToString(), DataDirectory);
        _ = WatchAsync();
    }

    /// <summary>
    /// Kills the server (SIGKILL: nothing it holds is flushed or acknowledged after this) and starts it again, read-only.
    /// How a primary that lost its lease is fenced: the crash recovery of a server started as a semi-sync replica
    /// (<c>--init-rpl-role=SLAVE</c>) removes from its binary log the transactions no replica acknowledged, so it can
    /// follow the new primary without holding writes nobody else has.
    /// </summary>
    public async Task RestartAsync(CancellationToken cancellationToken)
    {
        _ready = false;
        _restarting = true;
        try
        {
            if (_process is { HasExited: false } process)
            {
                process.Kill(entireProcessTree: false);
                await _exited.Task.WaitAsync(StopGrace, cancellationToken);
            }

            _exited = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            await WaitForEarlierServerAsync(cancellationToken);
            await StartAndWaitAsync(cancellationToken);
            _ready = true;
        }
        finally
        {
            _restarting = false;
        }

        _ = WatchAsync();
    }

    private async Task StartAndWaitAsync(CancellationToken cancellationToken)
    {
        await StartServerAsync();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StartTimeout);
        await WaitUntilAnsweringAsync(timeout.Token);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        _ready = false;
        if (_process is { } process && await ChildProcesses.StopAsync(process, StopGrace, TimeProvider.System))
        {
            LogKilled(logger, process.Id, StopGrace.TotalSeconds);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Asks the server for <c>SELECT 1</c> over its socket.</summary>
    public async Task PingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAdminAsync(cancellationToken);
        await using var command = new MySqlCommand("SELECT 1;", connection);
        await command.ExecuteScalarAsync(cancellationToken);
    }

    private async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var scratch = DataDirectory + ".init";
        if (Directory.Exists(scratch))
        {
            Directory.Delete(scratch, recursive: true);
        }

        var started = Stopwatch.StartNew();
        ProgramResult result;
        try
        {
            result = await Programs.RunAsync(
                installation.InstallDb,
                [
                    "--no-defaults", $"--datadir={scratch}", $"--tmpdir={TempDirectory}", "--skip-test-db",
                    // The administrator is whoever runs the node, and only over the socket: no password anywhere.
                    "--auth-root-authentication-method=socket", $"--auth-root-socket-user={Environment.UserName}",
                    .. AsUser(),
                ],
                StartTimeout,
                cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new DatabaseServerException($"{installation.InstallDb} did not finish within {StartTimeout.TotalSeconds:0} s");
        }

        if (result.ExitCode != 0)
        {
            throw new DatabaseServerException($"{installation.InstallDb} failed with exit code {result.ExitCode}: {(result.Output + result.Error).Trim()}");
        }

        Directory.Move(scratch, DataDirectory);
        LogInitialized(logger, DataDirectory, started.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// A node killed a moment ago leaves its server dying of the parent-death signal; starting a new one before it
    /// is gone would find the port and the data files still taken.
    /// </summary>
    private async Task WaitForEarlierServerAsync(CancellationToken cancellationToken)
    {
        var pidFile = Path.Combine(Folder, "mariadbd.pid");
        if (!File.Exists(pidFile) || !int.TryParse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture, out var pid))
        {
            return;
        }

        var deadline = Stopwatch.StartNew();
        while (IsServerOfThisFolder(pid) && deadline.Elapsed < StopGrace)
        {
            await Task.Delay(50, cancellationToken);
        }
    }

    private bool IsServerOfThisFolder(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Contains($"--datadir={DataDirectory}\0", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private IEnumerable<string> ServerArguments() =>
    [
        "--no-defaults",
        $"--datadir={DataDirectory}",
        $"--tmpdir={TempDirectory}",
        $"--socket={SocketPath}",
        $"--pid-file={Path.Combine(Folder, "mariadbd.pid")}",
        $"--bind-address={node.Address.Address}",
        $"--port={node.Address.Port.ToString(CultureInfo.InvariantCulture)}",
        // Durable: every commit is on disk (redo log and binary log both synced) before the client hears of it.
        "--innodb-flush-log-at-trx-commit=1",
        "--log-bin=mariadb-bin",
        "--sync-binlog=1",
        // Replication (docs/database.md): GTIDs in one domain, strict so a node holding transactions the primary
        // never had cannot follow it; replicas log what they apply, so any node can become the primary.
        $"--server-id={ServerId.ToString(CultureInfo.InvariantCulture)}",
        "--log-slave-updates",
        "--gtid-strict-mode=ON",
        "--relay-log=relay-bin",
        $"--report-host={node.Address.Address}",
        // With replicas, every node starts read-only and as a semi-sync replica; the node makes it writable once it
        // holds the primary's lease. A semi-sync replica acknowledges what it received; the primary (the node enables
        // rpl_semi_sync_master when it has a replica) acknowledges a commit only after that (AFTER_SYNC), and never
        // gives up waiting on its own (the node decides, with the lease, when a primary may write alone).
        database.Nodes.Length > 1 ? "--read-only=ON" : "--read-only=OFF",
        // Started as a semi-sync replica, a server that crashed drops from its binary log the transactions still in
        // doubt (prepared, not committed in InnoDB), which only a replica's acknowledgement would have made known:
        // what a strict primary had acknowledged is on its replica, so nothing acknowledged is lost and it can follow
        // the new primary. Not after it wrote alone (or when it is the only node): MariaDB commits acknowledged
        // transactions in InnoDB only lazily when the binary log is on, so recovery must commit what the log holds.
        .. (MayDropUnacknowledged ? (string[])["--init-rpl-role=SLAVE", "--rpl-semi-sync-slave-enabled=ON"] : ["--rpl-semi-sync-slave-enabled=OFF"]),
        "--rpl-semi-sync-master-enabled=OFF",
        "--rpl-semi-sync-master-wait-point=AFTER_SYNC",
        "--rpl-semi-sync-master-wait-no-slave=ON",
        "--rpl-semi-sync-master-timeout=4294967295",
        // A replica notices a primary that went silent within 4 s (the primary sends a heartbeat every second).
        "--slave-net-timeout=4",
        // Two app nodes with MySqlConnector's default pool of 100 each need more than MariaDB's 151.
        "--max-connections=512",
        "--skip-name-resolve",
        "--character-set-server=utf8mb4",
        "--collation-server=utf8mb4_bin",
        .. AsUser(),
    ];

    /// <summary>mariadbd refuses to run as root unless told to; as anyone else it runs as that user.</summary>
    private static string[] AsUser() => Environment.IsPrivilegedProcess ? ["--user=root"] : [];

    /// <summary>
    /// Starts mariadbd as a child that dies with the node (<see cref="ChildProcesses"/>). Its output goes where the
    /// node's goes (the node's log under strata up).
    /// </summary>
    private async Task StartServerAsync()
    {
        var process = new Process { StartInfo = ChildProcesses.CreateStartInfo(installation.Server, ServerArguments()) };
        try
        {
            await ChildProcesses.StartAsync(process);
        }
        catch (Exception ex) when (ex is Win32Exception or InvalidOperationException)
        {
            process.Dispose();
            throw new DatabaseServerException($"could not start {installation.Server}: {ex.Message}", ex);
        }

        _process = process;
        _ = Task.Run(async () =>
        {
            await process.WaitForExitAsync(CancellationToken.None);
            _exited.TrySetResult(process.ExitCode);
        });
    }

    private async Task WaitUntilAnsweringAsync(CancellationToken cancellationToken)
    {
        Exception? last = null;
        while (true)
        {
            if (_exited.Task.IsCompleted)
            {
                throw new DatabaseServerException($"mariadbd exited with code {await _exited.Task} while starting (its messages are above)");
            }

            try
            {
                await PingAsync(cancellationToken);
                return;
            }
            catch (MySqlException ex)
            {
                last = ex;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                _process!.Kill(entireProcessTree: false);
                throw new DatabaseServerException($"mariadbd did not accept connections within {StartTimeout.TotalSeconds:0} s ({last?.Message})");
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>
    /// The schema, the application's account and the replication account, made again at every start (so a new
    /// password file takes effect) on each node itself: kept out of the binary log, so they are never replicated and
    /// every node has them whatever its role (the administrator may write on a read-only server).
    /// </summary>
    private async Task EnsureAccountsAsync(string password, string replicationPassword, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAdminAsync(cancellationToken);
        await using var command = new MySqlCommand(
            $"""
            SET SESSION sql_log_bin = 0;
            CREATE DATABASE IF NOT EXISTS `{ManagedDatabase.DatabaseName}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
            CREATE USER IF NOT EXISTS '{ManagedDatabase.UserName}'@'%' IDENTIFIED BY @password;
            ALTER USER '{ManagedDatabase.UserName}'@'%' IDENTIFIED BY @password;
            GRANT ALL PRIVILEGES ON `{ManagedDatabase.DatabaseName}`.* TO '{ManagedDatabase.UserName}'@'%';
            CREATE USER IF NOT EXISTS '{ManagedDatabase.ReplicationUserName}'@'%' IDENTIFIED BY @replication;
            ALTER USER '{ManagedDatabase.ReplicationUserName}'@'%' IDENTIFIED BY @replication;
            GRANT REPLICATION SLAVE, SELECT, RELOAD, LOCK TABLES, SHOW VIEW, TRIGGER, EVENT, BINLOG MONITOR ON *.* TO '{ManagedDatabase.ReplicationUserName}'@'%';
            SET SESSION sql_log_bin = 1;
            """,
            connection);
        command.Parameters.AddWithValue("@password", password);
        command.Parameters.AddWithValue("@replication", replicationPassword);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// A file in the node's folder that is there while this server may hold acknowledged writes no other server has
    /// (it writes alone); made durable before the first such write, removed once a replica has caught up.
    /// </summary>
    public string AloneMarker => AloneMarkerIn(Folder);

    /// <summary><see cref="AloneMarker"/> of the node whose folder is <paramref name="folder"/>.</summary>
    public static string AloneMarkerIn(string folder) => Path.Combine(folder, "writes-alone");

    /// <summary>Whether a crash recovery may drop transactions no replica acknowledged (see <see cref="ServerArguments"/>).</summary>
    private bool MayDropUnacknowledged => database.Nodes.Length > 1 && !File.Exists(AloneMarker);

    /// <summary>The server's id among the nodes: its place in database.nodes, from 1.</summary>
    private int ServerId => database.Nodes.IndexOf(node) + 1;

    /// <summary>A connection as the administrator: whoever runs the node, over the server's socket.</summary>
    internal Task<MySqlConnection> OpenAdminAsync(CancellationToken cancellationToken) => ManagedDatabaseAccount.OpenAdminAsync(SocketPath, cancellationToken);

    private async Task WatchAsync()
    {
        var code = await _exited.Task;
        if (_restarting)
        {
            return;
        }

        _ready = false;
        if (!_stopping)
        {
            LogExited(logger, code, node.Name);
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "created the data directory {Directory} in {Seconds:0.0} s")]
    private static partial void LogInitialized(ILogger logger, string directory, double seconds);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "{Node} serving MariaDB on {Address} (data in {Directory}; every commit synced)")]
    private static partial void LogServing(ILogger logger, string node, string address, string directory);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "mariadbd exited with code {Code}: {Node} stops too ('strata start {Node}' starts both again)")]
    private static partial void LogExited(ILogger logger, int code, string node);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "mariadbd (pid {Pid}) did not stop within {Seconds:0} s of SIGTERM: killing it")]
    private static partial void LogKilled(ILogger logger, int pid, double seconds);
}
