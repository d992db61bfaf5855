using System.Data.Common;
using System.Net;
using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using MySqlConnector;
using Strata.Data.Messages;
using Strata.Data;
using Strata.Topology;
using Xunit.Abstractions;

namespace Strata.Tests.Data;

/// <summary>
/// Databases of one engine for the store suites (<see cref="StoreSuite"/>): each suite runs once per engine, and
/// this is all an engine has to say — a fresh database, a connection of the test's own, and one that is down.
/// </summary>
public abstract class TestDatabases : IDisposable
{
    /// <summary>A new, empty database; skips the test (or fails it in CI) when the engine is unavailable.</summary>
    public abstract Task<DatabaseSpec> NewAsync();

    /// <summary>A connection of the test's own to <paramref name="database"/>, outside any store.</summary>
    public abstract Task<DbConnection> OpenAsync(DatabaseSpec database);

    /// <summary>A database whose server (or file) cannot be reached.</summary>
    public abstract Task<DatabaseSpec> UnreachableAsync();

    public virtual void Dispose()
    {
    }
}

/// <summary>SQLite files in temporary folders, removed at the end.</summary>
public sealed class SqliteTestDatabases : TestDatabases
{
    private readonly List<TempDatabase> _databases = [];

    public override Task<DatabaseSpec> NewAsync() => Task.FromResult(Add().Spec);

    public override Task<DbConnection> OpenAsync(DatabaseSpec database)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database.Path, Pooling = false }.ToString());
        connection.Open();
        return Task.FromResult<DbConnection>(connection);
    }

    // A file under a folder that is not there and cannot be created (a regular file is in the way).
    public override Task<DatabaseSpec> UnreachableAsync()
    {
        var blocker = Path.Combine(Add().Directory, "not-a-folder");
        File.WriteAllText(blocker, "");
        return Task.FromResult(new DatabaseSpec(MessageStores.Sqlite, Path.Combine(blocker, "foobar.db")));
    }

    public override void Dispose()
    {
        foreach (var database in _databases)
        {
            database.Dispose();
        }
    }

    private TempDatabase Add()
    {
        var database = new TempDatabase();
        _databases.Add(database);
        return database;
    }
}

/// <summary>Databases on the test run's own MariaDB (<see cref="MariaDbServer"/>), one per test.</summary>
public sealed class MariaDbTestDatabases(MariaDbServer server, ITestOutputHelper output) : TestDatabases
{
    /// <summary>A "mysql" database choice with <paramref name="connectionString"/>.</summary>
    public static DatabaseSpec Spec(string connectionString) => new(MessageStores.MySql, "", connectionString);

    public override async Task<DatabaseSpec> NewAsync()
    {
        server.Check(output);
        return Spec(server.ConnectionString(await server.CreateDatabaseAsync()));
    }

    public override async Task<DbConnection> OpenAsync(DatabaseSpec database)
    {
        var connection = new MySqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    // A loopback port nobody listens on: the server is "stopped".
    public override Task<DatabaseSpec> UnreachableAsync()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return Task.FromResult(Spec($"Server=127.0.0.1;Port={port};User ID=strata;Password=x;Database=strata_test;Connection Timeout=2"));
    }
}

/// <summary>A suite run once per engine: the engine's subclass supplies <see cref="Databases"/>.</summary>
public abstract class StoreSuite : IAsyncLifetime
{
    /// <summary>The engine's databases.</summary>
    protected abstract TestDatabases Databases { get; }

    /// <inheritdoc cref="TestDatabases.NewAsync"/>
    protected Task<DatabaseSpec> NewDatabaseAsync() => Databases.NewAsync();

    /// <inheritdoc cref="TestDatabases.OpenAsync"/>
    protected Task<DbConnection> OpenConnectionAsync(DatabaseSpec database) => Databases.OpenAsync(database);

    /// <inheritdoc cref="TestDatabases.UnreachableAsync"/>
    protected Task<DatabaseSpec> UnreachableDatabaseAsync() => Databases.UnreachableAsync();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        Databases.Dispose();
        return Task.CompletedTask;
    }
}
