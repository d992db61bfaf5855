// Why this file exists: the MySQL provider is only tested for real against a real server (DESIGN.md: "a real
// database where the database matters"). This fixture runs a private MariaDB for one test class with the product's own
// launcher (Strata.Database's MariaDbServer: first-start data directory, durable settings, the application's account,
// a parent-death signal so the server dies with the test run) and leaves the machine as it found it: the data
// directory lives in a fresh temporary folder, mariadbd listens on 127.0.0.1 on a free port plus a socket in that
// folder, and it is stopped through the process the launcher started, never by name, so a system MariaDB (if any) is
// never touched. Without MariaDB installed the tests skip on a developer machine and fail in CI
// (Requirements.CheckOrReport); run-tests installs it.
using System.Net;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using MySqlConnector;
using Strata.Data.Managed;
using Strata.Database.Server;
using Strata.Hosting.Processes;
using Strata.Tests.Common;
using Strata.Topology;
using Xunit.Abstractions;
using ProductServer = Strata.Database.Server.MariaDbServer;

namespace Strata.Tests.Data;

/// <summary>A throwaway MariaDB server on loopback, started once per test class that uses it as a fixture.</summary>
public sealed class MariaDbServer : IAsyncLifetime
{
    /// <summary>The database created at start for tests that need just one.</summary>
    public const string TestDatabase = "strata_test";

    /// <summary>The account the tests connect with over TCP, as an app node would (the managed server's application account).</summary>
    public const string User = ManagedDatabase.UserName;

    private ProductServer? _server;
    private string _password = "";
    private int _databases;

    /// <summary>Null when the server runs; otherwise why MariaDB is not available on this machine.</summary>
    public string? Unavailable { get; private set; }

    /// <summary>The temporary folder holding the data directory, socket, PID file and the account's password.</summary>
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "strata-tests", "mariadb-" + Guid.NewGuid().ToString("n")[..12]);

    /// <summary>The TCP port mariadbd listens on (127.0.0.1).</summary>
    public int Port { get; private set; }

    /// <summary>The CI rule: true when the server runs; otherwise skips the test (or fails it in CI) with the reason.</summary>
    public bool Check(ITestOutputHelper output) => Requirements.CheckOrReport(Unavailable, output);

    /// <summary>A connection string for <see cref="User"/> over TCP to <paramref name="database"/>.</summary>
    public string ConnectionString(string database = TestDatabase) => new MySqlConnectionStringBuilder
    {
        Server = "127.0.0.1",
        Port = (uint)Port,
        UserID = User,
        Password = _password,
        Database = database,
    }.ConnectionString;

    /// <summary>Creates a new empty database (utf8mb4) and returns its name.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"strata_test_{Interlocked.Increment(ref _databases)}";
        await AdministerAsync($"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;");
        return name;
    }

    public async Task InitializeAsync()
    {
        MariaDbInstallation installation;
        try
        {
            installation = MariaDbInstallation.Locate();
        }
        catch (DatabaseServerException ex)
        {
            Unavailable = ex.Message + " (or run ./run-tests)";
            return;
        }

        Port = FreePorts.Tcp();
        var address = new IPEndPoint(IPAddress.Loopback, Port);
        var node = new NodeSpec("db-test", NodeRole.Database, address, address);
        var database = new DatabaseSpec("mysql", Path.Combine(Directory, "database"), Nodes: [node]);
        _server = new ProductServer(database, node, installation, new ApplicationLifetime(NullLogger<ApplicationLifetime>.Instance), NullLogger<ProductServer>.Instance);
        try
        {
            await _server.StartingAsync(CancellationToken.None);
            _password = ManagedDatabaseAccount.CreateOrReadPassword(database);
            // The tests make databases of their own besides the application's.
            await AdministerAsync($"""
                CREATE DATABASE `{TestDatabase}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
                GRANT ALL PRIVILEGES ON *.* TO '{User}'@'%';
                """);
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
        if (_server is { } server)
        {
            _server = null;
            await server.StoppingAsync(CancellationToken.None);
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <summary>Runs <paramref name="sql"/> as the administrator, over the server's socket (never over the network).</summary>
    private async Task AdministerAsync(string sql)
    {
        await using var connection = await _server!.OpenAdminAsync(CancellationToken.None);
        await using var command = new MySqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
