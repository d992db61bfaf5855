// Why this file exists: the MySQL provider is only tested for real against a real server (DESIGN.md: "a real
// database where the database matters"). This fixture runs a private MariaDB for one test class and leaves the
// machine as it found it: the data directory lives in a fresh temporary folder, mariadbd listens on 127.0.0.1 on a
// free port plus a socket in that folder, and it is stopped by the PID this fixture recorded (SIGTERM, SIGKILL
// after 10 s), never by name, so a system MariaDB (if any) is never touched. Without MariaDB installed the tests
// skip on a developer machine and fail in CI (Requirements.CheckOrReport); run-tests installs it.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using MySqlConnector;
using Strata.Hosting.Processes;
using Strata.Tests.Common;
using Xunit.Abstractions;

namespace Strata.Tests.Data;

/// <summary>A throwaway MariaDB server on loopback, started once per test class that uses it as a fixture.</summary>
public sealed class MariaDbServer : IAsyncLifetime
{
    /// <summary>The database created at start for tests that need just one.</summary>
    public const string TestDatabase = "strata_test";

    /// <summary>The account the tests connect with over TCP, as an app node would.</summary>
    public const string User = "strata";

    private const string Password = "strata-test-password";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);
    private static readonly string[] SearchDirectories = ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin"];

    private readonly StringBuilder _output = new();
    private Process? _process;
    private int _databases;

    /// <summary>Null when the server runs; otherwise why MariaDB is not available on this machine.</summary>
    public string? Unavailable { get; private set; }

    /// <summary>The temporary folder holding the data directory, socket, PID file and error log.</summary>
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "strata-tests", "mariadb-" + Guid.NewGuid().ToString("n")[..12]);

    /// <summary>The TCP port mariadbd listens on (127.0.0.1).</summary>
    public int Port { get; private set; }

    /// <summary>The PID of the mariadbd this fixture started, or null.</summary>
    public int? ProcessId => _process?.Id;

    private string DataDirectory => Path.Combine(Directory, "data");

    private string Socket => Path.Combine(Directory, "mariadbd.sock");

    private string ErrorLog => Path.Combine(Directory, "error.log");

    /// <summary>The CI rule: true when the server runs; otherwise skips the test (or fails it in CI) with the reason.</summary>
    public bool Check(ITestOutputHelper output) => Requirements.CheckOrReport(Unavailable, output);

    /// <summary>A connection string for <see cref="User"/> over TCP to <paramref name="database"/>.</summary>
    public string ConnectionString(string database = TestDatabase) => new MySqlConnectionStringBuilder
    {
        Server = "127.0.0.1",
        Port = (uint)Port,
        UserID = User,
        Password = Password,
        Database = database,
    }.ConnectionString;

    /// <summary>Creates a new empty database (utf8mb4) and returns its name.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"strata_test_{Interlocked.Increment(ref _databases)}";
        await using var connection = await OpenRootAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = $"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;";
        await command.ExecuteNonQueryAsync();
        return name;
    }

    public async Task InitializeAsync()
    {
        var installDb = Find("mariadb-install-db");
        var mariadbd = Find("mariadbd");
        if (installDb is null || mariadbd is null)
        {
            Unavailable = "MariaDB is not installed (mariadb-install-db and mariadbd not found; apt-get install mariadb-server, or run ./run-tests)";
            return;
        }

        System.IO.Directory.CreateDirectory(Directory);
        try
        {
            // mariadbd refuses to run as root unless told to; as anyone else it runs as that user.
            var asRoot = Environment.IsPrivilegedProcess ? new[] { "--user=root" } : [];
            var install = await ChildProcess.RunAsync(
                installDb,
                ["--no-defaults", $"--datadir={DataDirectory}", "--auth-root-authentication-method=normal", "--skip-test-db", .. asRoot],
                TimeSpan.FromSeconds(120));
            if (install.ExitCode != 0)
            {
                throw new InvalidOperationException($"mariadb-install-db failed ({install.ExitCode}): {install.Output}{install.Error}");
            }

            Port = FreePorts.Tcp();
            _process = Start(mariadbd,
            [
                "--no-defaults", $"--datadir={DataDirectory}", $"--socket={Socket}", $"--port={Port}",
                "--bind-address=127.0.0.1", "--skip-networking=0", $"--pid-file={Path.Combine(Directory, "mariadbd.pid")}",
                $"--log-error={ErrorLog}", "--innodb-flush-log-at-trx-commit=1", "--sync-binlog=1",
                "--innodb-buffer-pool-size=32M", .. asRoot,
            ]);

            await WaitUntilReadyAsync();
            await using var connection = await OpenRootAsync(CancellationToken.None);
            await using var command = connection.CreateCommand();
            command.CommandText = $"""
                CREATE DATABASE `{TestDatabase}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
                CREATE USER '{User}'@'127.0.0.1' IDENTIFIED BY '{Password}';
                GRANT ALL PRIVILEGES ON *.* TO '{User}'@'127.0.0.1';
                """;
            await command.ExecuteNonQueryAsync();
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        MySqlConnection.ClearAllPools();
        if (_process is { } process)
        {
            _process = null;
            await StopAsync(process);
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    private static string? Find(string name) =>
        SearchDirectories.Select(directory => Path.Combine(directory, name)).FirstOrDefault(File.Exists);

    private Process Start(string path, IEnumerable<string> arguments)
    {
        var startInfo = new ProcessStartInfo(path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"{path} did not start");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    private async Task WaitUntilReadyAsync()
    {
        var deadline = Stopwatch.StartNew();
        Exception? last = null;
        while (deadline.Elapsed < StartTimeout)
        {
            if (_process!.HasExited)
            {
                throw new InvalidOperationException($"mariadbd exited with {_process.ExitCode} while starting: {Diagnostics()}");
            }

            try
            {
                using var attempt = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await using var connection = await OpenRootAsync(attempt.Token);
                return;
            }
            catch (Exception ex) when (ex is MySqlException or OperationCanceledException)
            {
                last = ex;
                await Task.Delay(200);
            }
        }

        throw new TimeoutException($"mariadbd did not accept connections within {StartTimeout.TotalSeconds} s ({last?.Message}): {Diagnostics()}");
    }

    private string Diagnostics()
    {
        string log;
        try
        {
            log = File.Exists(ErrorLog) ? string.Join('\n', File.ReadLines(ErrorLog).TakeLast(20)) : "";
        }
        catch (IOException ex)
        {
            log = ex.Message;
        }

        lock (_output)
        {
            return $"{_output}\n{log}".Trim();
        }
    }

    /// <summary>root over the socket in our folder: no password, never over the network.</summary>
    private async Task<MySqlConnection> OpenRootAsync(CancellationToken cancellationToken)
    {
        var connection = new MySqlConnection(new MySqlConnectionStringBuilder
        {
            Server = Socket,
            ConnectionProtocol = MySqlConnectionProtocol.UnixSocket,
            UserID = "root",
            Pooling = false,
            ConnectionTimeout = 5,
            AllowUserVariables = true,
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

    /// <summary>SIGTERM to the recorded PID (a clean InnoDB shutdown), SIGKILL if it is still there after 10 s.</summary>
    private static async Task StopAsync(Process process)
    {
        using (process)
        {
            if (process.HasExited)
            {
                return;
            }

            const int sigterm = 15;
            _ = Kill(process.Id, sigterm);
            using var timeout = new CancellationTokenSource(StopTimeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill();
                await process.WaitForExitAsync();
            }
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
