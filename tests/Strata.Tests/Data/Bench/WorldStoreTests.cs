using System.Data.Common;
using Strata.Data.Messages;
using Strata.Data;
using Strata.Data.Bench;
using Strata.Data.Migrations;
using Strata.Topology;

namespace Strata.Tests.Data.Bench;

/// <summary>
/// The contract of <see cref="IWorldStore"/> and the benchmark tables' migrations, run against every engine: each
/// engine's subclass only says how to get a fresh database, how to look inside it, and what an unreachable one is.
/// </summary>
public abstract class WorldStoreTests : StoreSuite
{
    private DatabaseSpec? _database;

    /// <summary>This test's database, migrated, made on first use.</summary>
    protected async Task<DatabaseSpec> DatabaseAsync()
    {
        if (_database is null)
        {
            _database = await NewDatabaseAsync();
            await MessageStores.Create(_database).InitializeAsync(CancellationToken.None);
            await WorldStores.Create(_database).InitializeAsync(CancellationToken.None);
        }

        return _database;
    }

    private async Task<IWorldStore> CreateAsync() => WorldStores.Create(await DatabaseAsync());

    [SkippableFact]
    public async Task Migrations_NewDatabase_Seed10000WorldsWithNumbersFrom1To10000()
    {
        var spec = await DatabaseAsync();

        await using var connection = await OpenConnectionAsync(spec);
        var worlds = await BenchData.ReadWorldsAsync(connection);

        Assert.Equal(BenchData.WorldRows, worlds.Count);
        Assert.Equal(Enumerable.Range(1, BenchData.WorldRows), worlds.Keys.Order());
        Assert.All(worlds.Values, n => Assert.InRange(n, 1, BenchData.WorldRows));

        // Random, not one constant: 10,000 draws from 1..10000 give thousands of distinct values.
        Assert.True(worlds.Values.Distinct().Count() > 1000, $"{worlds.Values.Distinct().Count()} distinct numbers");
    }

    [SkippableFact]
    public async Task Migrations_NewDatabase_SeedTheTwelveStandardFortunes()
    {
        var spec = await DatabaseAsync();

        await using var connection = await OpenConnectionAsync(spec);

        Assert.Equal(BenchData.Fortunes, await BenchData.ReadFortunesAsync(connection));
    }

    [SkippableFact]
    public async Task Migrations_BenchStepsRunAgain_LeaveTheRowsAsTheyWere()
    {
        // On MySQL DDL commits on its own, so a step may be done but unrecorded when a process dies: repeating it must be harmless.
        var spec = await DatabaseAsync();
        await using var connection = await OpenConnectionAsync(spec);
        var before = await BenchData.ReadWorldsAsync(connection);
        var engine = spec.Engine == MessageStores.Sqlite ? MigrationEngine.Sqlite : MigrationEngine.MySql;

        foreach (var migration in SchemaMigrations.Benchmarks)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = migration.SqlFor(engine);
            await command.ExecuteNonQueryAsync();
        }

        Assert.Equal(before, await BenchData.ReadWorldsAsync(connection));
        Assert.Equal(BenchData.Fortunes, await BenchData.ReadFortunesAsync(connection));
    }

    [SkippableFact]
    public async Task GetWorldAsync_Id_ReturnsThatRow()
    {
        var store = await CreateAsync();
        await using var connection = await OpenConnectionAsync(await DatabaseAsync());
        var stored = await BenchData.ReadWorldsAsync(connection);

        foreach (var id in new[] { 1, 4321, BenchData.WorldRows })
        {
            Assert.Equal(new World(id, stored[id]), await store.GetWorldAsync(id, CancellationToken.None));
        }
    }

    [SkippableFact]
    public async Task GetWorldAsync_NoSuchRow_ThrowsKeyNotFound()
    {
        var store = await CreateAsync();

        await Assert.ThrowsAsync<KeyNotFoundException>(() => store.GetWorldAsync(BenchData.WorldRows + 1, CancellationToken.None));
    }

    [SkippableFact]
    public async Task GetWorldsAsync_Ids_ReturnsEachRowInTheirOrder()
    {
        var store = await CreateAsync();
        await using var connection = await OpenConnectionAsync(await DatabaseAsync());
        var stored = await BenchData.ReadWorldsAsync(connection);
        int[] ids = [10, 9999, 1, 10, 500];

        var worlds = await store.GetWorldsAsync(ids, CancellationToken.None);

        Assert.Equal(ids.Select(id => new World(id, stored[id])), worlds);
        Assert.Empty(await store.GetWorldsAsync([], CancellationToken.None));
    }

    [SkippableFact]
    public async Task GetFortunesAsync_Always_ReturnsEveryFortune()
    {
        var store = await CreateAsync();

        var fortunes = await store.GetFortunesAsync(CancellationToken.None);

        Assert.Equal(BenchData.Fortunes, fortunes.OrderBy(f => f.Id));
    }

    [SkippableFact]
    public async Task UpdateWorldsAsync_Rows_StoresEachNewNumberAndNothingElse()
    {
        var store = await CreateAsync();
        await using var connection = await OpenConnectionAsync(await DatabaseAsync());
        var before = await BenchData.ReadWorldsAsync(connection);
        World[] updates = [.. new[] { 7, 1, 10000, 2500 }.Select(id => new World(id, before[id] % BenchData.WorldRows + 1))];

        await store.UpdateWorldsAsync(updates, CancellationToken.None);

        var after = await BenchData.ReadWorldsAsync(connection);
        foreach (var world in updates)
        {
            Assert.NotEqual(before[world.Id], after[world.Id]);
            Assert.Equal(world.RandomNumber, after[world.Id]);
            before[world.Id] = world.RandomNumber;
        }

        Assert.Equal(before, after);
    }

    [SkippableFact]
    public async Task UpdateWorldsAsync_FiveHundredRows_StoresThemAll()
    {
        var store = await CreateAsync();
        World[] updates = [.. Enumerable.Range(1, 500).Select(i => new World(i * 20, i))];

        await store.UpdateWorldsAsync(updates, CancellationToken.None);

        await using var connection = await OpenConnectionAsync(await DatabaseAsync());
        var after = await BenchData.ReadWorldsAsync(connection);
        Assert.All(updates, world => Assert.Equal(world.RandomNumber, after[world.Id]));
    }

    [SkippableFact]
    public async Task GetWorldAsync_DatabaseDown_ThrowsDbException()
    {
        var store = WorldStores.Create(await UnreachableDatabaseAsync());

        await Assert.ThrowsAnyAsync<DbException>(() => store.GetWorldAsync(1, CancellationToken.None));
    }
}
