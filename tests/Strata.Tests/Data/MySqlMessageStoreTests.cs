using System.Data.Common;
using MySqlConnector;
using Strata.Data.Messages;
using Strata.Data;
using Strata.Data.Migrations;
using Strata.Topology;
using Xunit.Abstractions;

namespace Strata.Tests.Data;

/// <summary>The store contract on a real MariaDB (started by <see cref="MariaDbServer"/>), plus what only MySQL has.</summary>
public sealed class MySqlMessageStoreTests(MariaDbServer server, ITestOutputHelper output) : MessageStoreTests, IClassFixture<MariaDbServer>
{
    protected override TestDatabases Databases { get; } = new MariaDbTestDatabases(server, output);

    [SkippableFact]
    public async Task InitializeAsync_Always_CreatesInnoDbTablesInUtf8mb4()
    {
        var spec = await DatabaseAsync();
        await MessageStores.Create(spec).InitializeAsync(CancellationToken.None);
        await Strata.Data.Bench.WorldStores.Create(spec).InitializeAsync(CancellationToken.None);

        await using var connection = await OpenConnectionAsync(spec);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT table_name, engine, table_collation FROM information_schema.tables
            WHERE table_schema = DATABASE() ORDER BY table_name;
            """;
        var tables = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            tables.Add($"{reader.GetString(0)} {reader.GetString(1)} {reader.GetString(2)}");
        }

        Assert.Equal(
            ["Fortune InnoDB utf8mb4_bin", "messages InnoDB utf8mb4_bin", "schema_migrations InnoDB utf8mb4_bin", "World InnoDB utf8mb4_bin"],
            tables);
    }

    [SkippableFact]
    public async Task InitializeAsync_AnotherRunnerHoldsTheLock_WaitsForIt()
    {
        var spec = await DatabaseAsync();
        await using var holder = (MySqlConnection)await OpenConnectionAsync(spec);
        await using (var command = new MySqlCommand($"SELECT GET_LOCK('{MigrationRunner.MySqlLockName}', 0);", holder))
        {
            Assert.Equal(1L, Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture));
        }

        var initializing = MessageStores.Create(spec).InitializeAsync(CancellationToken.None);
        await Task.Delay(500);
        Assert.False(initializing.IsCompleted);

        await using (var command = new MySqlCommand($"DO RELEASE_LOCK('{MigrationRunner.MySqlLockName}');", holder))
        {
            await command.ExecuteNonQueryAsync();
        }

        await initializing.WaitAsync(TimeSpan.FromSeconds(10));
        await AssertEachMigrationRecordedOnceAsync(spec);
    }

    [SkippableFact]
    public async Task PingAsync_PoolExhausted_ThrowsDbExceptionAfterTheConnectTimeout()
    {
        // One pooled connection, held by a stuck request: the next caller waits the connect timeout, then fails.
        var baseSpec = await DatabaseAsync();
        var spec = Spec(baseSpec.ConnectionString + ";Maximum Pool Size=1;Connection Timeout=1");
        var store = MessageStores.Create(spec);
        await store.InitializeAsync(CancellationToken.None);
        await using var holder = new MySqlConnection(((MySqlMessageStore)store).ConnectionString);
        await holder.OpenAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<DbException>(() => store.PingAsync(CancellationToken.None));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        await holder.CloseAsync();
        await store.PingAsync(CancellationToken.None);
    }

    [Theory]
    [InlineData("Server=127.0.0.1", 5u)]
    [InlineData("Server=127.0.0.1;Connect Timeout=2", 2u)]
    [InlineData("Server=127.0.0.1;connectiontimeout=20", 20u)]
    public void Create_ConnectTimeout_DefaultsToFiveSeconds(string connectionString, uint seconds)
    {
        var store = (MySqlMessageStore)MessageStores.Create(Spec(connectionString));

        var builder = new MySqlConnectionStringBuilder(store.ConnectionString);
        Assert.Equal((seconds, true), (builder.ConnectionTimeout, builder.Pooling));
    }

    [Fact]
    public void Create_MalformedConnectionString_SaysSoWithoutTheValue()
    {
        var error = Assert.Throws<ArgumentException>(() => MessageStores.Create(Spec("Server=127.0.0.1;Password=hunter2;Colour=blue")));

        Assert.StartsWith("database.connectionString is not a valid MySQL connection string", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }

    private static DatabaseSpec Spec(string connectionString) => MariaDbTestDatabases.Spec(connectionString);
}
