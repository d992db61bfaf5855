using System.Globalization;
using Strata.Data.Bench;
using Xunit.Abstractions;

namespace Strata.Tests.Data.Bench;

/// <summary>The benchmark store contract on a real MariaDB (started by <see cref="MariaDbServer"/>).</summary>
public sealed class MySqlWorldStoreTests(MariaDbServer server, ITestOutputHelper output) : WorldStoreTests, IClassFixture<MariaDbServer>
{
    protected override TestDatabases Databases { get; } = new MariaDbTestDatabases(server, output);

    [SkippableFact]
    public async Task UpdateWorldsAsync_OnMySql_ExecutesOneUpdateStatementPerRow()
    {
        // TechEmpower's verifier counts the UPDATE statements MySQL executed (Com_update) and fails a bulk UPDATE.
        // The server's global counter: the store's pooled connections are not this session, and this class's own
        // server runs nothing else while its tests run one at a time.
        var spec = await DatabaseAsync();
        var store = WorldStores.Create(spec);
        await using var connection = await OpenConnectionAsync(spec);
        var before = await BenchData.ReadWorldsAsync(connection);
        int[] ids = [3, 42, 999, 5000, 7777, 9998, 10000, 1];
        World[] updates = [.. ids.Select(id => new World(id, before[id] % BenchData.WorldRows + 1))];

        var updatesBefore = await ComUpdateAsync(connection);
        await store.UpdateWorldsAsync(updates, CancellationToken.None);
        var executed = await ComUpdateAsync(connection) - updatesBefore;

        Assert.Equal(ids.Length, executed);
        var after = await BenchData.ReadWorldsAsync(connection);
        Assert.All(updates, world => Assert.Equal(world.RandomNumber, after[world.Id]));
        Assert.Equal(BenchData.WorldRows - ids.Length, after.Count(row => before[row.Key] == row.Value));
    }

    private static async Task<long> ComUpdateAsync(System.Data.Common.DbConnection connection)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SHOW GLOBAL STATUS LIKE 'Com_update';";
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        return long.Parse(reader.GetString(1), CultureInfo.InvariantCulture);
    }
}
