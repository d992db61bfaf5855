using System.Data.Common;
using System.Net;
using System.Net.Sockets;
using MySqlConnector;
using Strata.Topology;
using Xunit.Abstractions;

namespace Strata.Tests.Data.Bench;

/// <summary>The benchmark store contract on a real MariaDB (started by <see cref="MariaDbServer"/>).</summary>
public sealed class MySqlWorldStoreTests(MariaDbServer server, ITestOutputHelper output) : WorldStoreTests, IClassFixture<MariaDbServer>
{
    protected override async Task<DatabaseSpec> NewDatabaseAsync()
    {
        server.Check(output);
        return Spec(server.ConnectionString(await server.CreateDatabaseAsync()));
    }

    protected override async Task<DbConnection> OpenConnectionAsync(DatabaseSpec database)
    {
        var connection = new MySqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    // A loopback port nobody listens on: the server is "stopped".
    protected override Task<DatabaseSpec> UnreachableDatabaseAsync()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return Task.FromResult(Spec($"Server=127.0.0.1;Port={port};User ID=strata;Password=x;Database=strata_test;Connection Timeout=2"));
    }

    private static DatabaseSpec Spec(string connectionString) => new("mysql", "", connectionString);
}
