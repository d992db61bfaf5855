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

    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _ready;
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
        await StartServerAsync();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StartTimeout);
        await WaitUntilAnsweringAsync(timeout.Token);
        await EnsureAccountAsync(password, cancellationToken);
        _ready = true;
        LogServing(logger, node.Name, node.Address.ToString(), DataDirectory);
        _ = WatchAsync();
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
        "--server-id=1",
        "--sync-binlog=1",
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

    /// <summary>The schema and the application's account, made again at every start (so a new password file takes effect).</summary>
    private async Task EnsureAccountAsync(string password, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAdminAsync(cancellationToken);
        await using var command = new MySqlCommand(
            $"""
            CREATE DATABASE IF NOT EXISTS `{ManagedDatabase.DatabaseName}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
            CREATE USER IF NOT EXISTS '{ManagedDatabase.UserName}'@'%' IDENTIFIED BY @password;
            ALTER USER '{ManagedDatabase.UserName}'@'%' IDENTIFIED BY @password;
            GRANT ALL PRIVILEGES ON `{ManagedDatabase.DatabaseName}`.* TO '{ManagedDatabase.UserName}'@'%';
            """,
            connection);
        command.Parameters.AddWithValue("@password", password);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>A connection as the administrator: whoever runs the node, over the server's socket.</summary>
    internal async Task<MySqlConnection> OpenAdminAsync(CancellationToken cancellationToken)
    {
        var connection = new MySqlConnection(new MySqlConnectionStringBuilder
        {
            Server = SocketPath,
            ConnectionProtocol = MySqlConnectionProtocol.UnixSocket,
            UserID = Environment.UserName,
            Pooling = false,
            ConnectionTimeout = 2,
        }.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private async Task WatchAsync()
    {
        var code = await _exited.Task;
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
