using System.Data.Common;
using Strata.Data.Messages;
using Strata.Data;
using Strata.Data.Migrations;
using Strata.Topology;

namespace Strata.Tests.Data;

/// <summary>
/// The contract of <see cref="IMessageStore"/>, run against every engine: each engine's subclass only says how
/// to get a fresh database, how to look inside it, and what a database that is down looks like.
/// </summary>
public abstract class MessageStoreTests : StoreSuite
{
    private DatabaseSpec? _database;

    /// <summary>This test's database, made on first use.</summary>
    protected async Task<DatabaseSpec> DatabaseAsync() => _database ??= await NewDatabaseAsync();

    private async Task<IMessageStore> CreateInitializedAsync(TimeProvider? time = null)
    {
        var store = MessageStores.Create(await DatabaseAsync(), time ?? TimeProvider.System);
        await store.InitializeAsync(CancellationToken.None);
        return store;
    }

    [SkippableFact]
    public async Task AddAsync_ThenLatestAsync_ReturnsNewestFirst()
    {
        var store = await CreateInitializedAsync();

        var first = await store.AddAsync("alice", "first", CancellationToken.None);
        var second = await store.AddAsync("bob", "second", CancellationToken.None);
        var third = await store.AddAsync("carol", "third", CancellationToken.None);

        var latest = await store.LatestAsync(10, CancellationToken.None);
        Assert.Equal([third, second, first], latest);
        Assert.True(first.Id < second.Id && second.Id < third.Id);
    }

    [SkippableFact]
    public async Task AddAsync_Always_ReturnsWhatIsStored()
    {
        var time = new FixedTimeProvider(new DateTimeOffset(2025, 3, 4, 5, 6, 7, 891, TimeSpan.FromHours(2)).AddTicks(1234));
        var store = await CreateInitializedAsync(time);

        var added = await store.AddAsync("alice", "hello", CancellationToken.None);

        Assert.Equal(new DateTimeOffset(2025, 3, 4, 3, 6, 7, 891, TimeSpan.Zero), added.CreatedAt);
        Assert.Equal(TimeSpan.Zero, added.CreatedAt.Offset);
        Assert.Equal(added, await store.FindAsync(added.Id, CancellationToken.None));
        Assert.Equal(added, Assert.Single(await store.LatestAsync(1, CancellationToken.None)));
    }

    [SkippableFact]
    public async Task LatestAsync_Limit_ReturnsOnlyThatManyNewest()
    {
        var store = await CreateInitializedAsync();
        for (var i = 1; i <= 5; i++)
        {
            await store.AddAsync("alice", $"message {i}", CancellationToken.None);
        }

        var latest = await store.LatestAsync(2, CancellationToken.None);

        Assert.Equal(["message 5", "message 4"], latest.Select(m => m.Text));
    }

    [SkippableFact]
    public async Task OlderAsync_PagesThroughEverythingOnceNewestFirst_EvenWhileNewOnesArrive()
    {
        var store = await CreateInitializedAsync();
        for (var i = 1; i <= 5; i++)
        {
            await store.AddAsync("alice", $"message {i}", CancellationToken.None);
        }

        var first = await store.LatestAsync(2, CancellationToken.None);
        await store.AddAsync("bob", "arrived meanwhile", CancellationToken.None);
        var second = await store.OlderAsync(first[^1].Id, 2, CancellationToken.None);
        var third = await store.OlderAsync(second[^1].Id, 2, CancellationToken.None);

        Assert.Equal(["message 5", "message 4", "message 3", "message 2", "message 1"], first.Concat(second).Concat(third).Select(m => m.Text));
        Assert.Empty(await store.OlderAsync(third[^1].Id, 2, CancellationToken.None));
    }

    [SkippableFact]
    public async Task DeleteAsync_RemovesOnlyThatMessage_AndSaysWhetherThereWasOne()
    {
        var store = await CreateInitializedAsync();
        var keep = await store.AddAsync("alice", "keep", CancellationToken.None);
        var drop = await store.AddAsync("mallory", "drop", CancellationToken.None);

        Assert.True(await store.DeleteAsync(drop.Id, CancellationToken.None));
        Assert.False(await store.DeleteAsync(drop.Id, CancellationToken.None));
        Assert.Null(await store.FindAsync(drop.Id, CancellationToken.None));
        Assert.Equal([keep], await store.LatestAsync(10, CancellationToken.None));
    }

    [SkippableFact]
    public async Task LatestAsync_EmptyDatabase_ReturnsEmpty()
    {
        var store = await CreateInitializedAsync();

        Assert.Empty(await store.LatestAsync(20, CancellationToken.None));
    }

    [SkippableFact]
    public async Task LatestAsync_LimitBelowOne_Throws()
    {
        var store = await CreateInitializedAsync();

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.LatestAsync(0, CancellationToken.None));
    }

    [SkippableFact]
    public async Task FindAsync_UnknownId_ReturnsNull()
    {
        var store = await CreateInitializedAsync();

        Assert.Null(await store.FindAsync(42, CancellationToken.None));
    }

    [SkippableFact]
    public async Task InitializeAsync_Twice_KeepsDataAndAppliesEachMigrationOnce()
    {
        var store = await CreateInitializedAsync();
        var added = await store.AddAsync("alice", "still here", CancellationToken.None);

        await store.InitializeAsync(CancellationToken.None);
        await MessageStores.Create(await DatabaseAsync()).InitializeAsync(CancellationToken.None);

        Assert.Equal(added, Assert.Single(await store.LatestAsync(10, CancellationToken.None)));
        await AssertEachMigrationRecordedOnceAsync(await DatabaseAsync());
    }

    [SkippableFact]
    public async Task InitializeAsync_ConcurrentlyFromTwoStores_AppliesEachMigrationOnce()
    {
        // Several rounds on fresh databases: the race is between creating the history, reading it and recording a step.
        for (var round = 0; round < 5; round++)
        {
            var database = await NewDatabaseAsync();
            var one = MessageStores.Create(database);
            var two = MessageStores.Create(database);
            using var start = new Barrier(2);

            await Task.WhenAll(
                Task.Run(async () => { start.SignalAndWait(); await one.InitializeAsync(CancellationToken.None); }),
                Task.Run(async () => { start.SignalAndWait(); await two.InitializeAsync(CancellationToken.None); }));

            await AssertEachMigrationRecordedOnceAsync(database);
            var added = await one.AddAsync("alice", "from one", CancellationToken.None);
            Assert.Equal(added, Assert.Single(await two.LatestAsync(10, CancellationToken.None)));
        }
    }

    [SkippableFact]
    public async Task AddAsync_ConcurrentlyFromTwoStores_KeepsEveryMessage()
    {
        var one = await CreateInitializedAsync();
        var two = MessageStores.Create(await DatabaseAsync());
        await two.InitializeAsync(CancellationToken.None);

        async Task<long[]> WriteAsync(IMessageStore store, string author)
        {
            var ids = new long[50];
            for (var i = 0; i < ids.Length; i++)
            {
                ids[i] = (await store.AddAsync(author, $"{author} {i}", CancellationToken.None)).Id;
            }

            return ids;
        }

        var results = await Task.WhenAll(Task.Run(() => WriteAsync(one, "one")), Task.Run(() => WriteAsync(two, "two")));

        var all = await one.LatestAsync(100, CancellationToken.None);
        Assert.Equal(100, all.Count);
        Assert.Equal(results.SelectMany(ids => ids).Order(), all.Select(m => m.Id).Order());
        Assert.Equal(all.Select(m => m.Id).OrderDescending(), all.Select(m => m.Id));
    }

    [SkippableTheory]
    [InlineData("O'Brien \"Bobby\" Tables", "hi'); DROP TABLE messages; --")]
    [InlineData("'; DROP TABLE messages; --", "back\\slash \\' \\\" \\\\ \\0 \\n %_ `backtick`")]
    [InlineData("nul\0char", "before\0after")]
    [InlineData("placeholders", "$text @text :text ? ?? {0} @@version")]
    [InlineData("ünïcødé", "emoji 🎉👩‍💻 and 𝕏 (outside the BMP), 中文, עברית")]
    [InlineData(" ", "  leading and trailing spaces  \r\n\t")]
    public async Task AddAsync_TextWithSqlMetacharacters_StoresItVerbatim(string author, string text)
    {
        var store = await CreateInitializedAsync();

        var added = await store.AddAsync(author, text, CancellationToken.None);
        await store.AddAsync("after", "the table survived", CancellationToken.None);

        var found = await store.FindAsync(added.Id, CancellationToken.None);
        Assert.NotNull(found);
        Assert.Equal(author, found.Author);
        Assert.Equal(text, found.Text);
        Assert.Equal(2, (await store.LatestAsync(10, CancellationToken.None)).Count);
    }

    [SkippableFact]
    public async Task PingAsync_Initialized_Succeeds()
    {
        var store = await CreateInitializedAsync();

        await store.PingAsync(CancellationToken.None);
    }

    [SkippableFact]
    public async Task PingAsync_NotInitialized_ThrowsDbException()
    {
        var store = MessageStores.Create(await DatabaseAsync());

        await Assert.ThrowsAnyAsync<DbException>(() => store.PingAsync(CancellationToken.None));
    }

    [SkippableFact]
    public async Task PingAsync_DatabaseDown_ThrowsDbExceptionQuickly()
    {
        var store = MessageStores.Create(await UnreachableDatabaseAsync());
        var clock = System.Diagnostics.Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<DbException>(() => store.PingAsync(CancellationToken.None));

        // Generous: the point is "seconds, not the 15-30 s defaults or a hang".
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    [SkippableFact]
    public async Task AddAsync_DatabaseDown_ThrowsDbException()
    {
        var store = MessageStores.Create(await UnreachableDatabaseAsync());

        await Assert.ThrowsAnyAsync<DbException>(() => store.AddAsync("alice", "lost", CancellationToken.None));
    }

    /// <summary>schema_migrations holds exactly one row per known version.</summary>
    protected async Task AssertEachMigrationRecordedOnceAsync(DatabaseSpec database)
    {
        await using var connection = await OpenConnectionAsync(database);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT version FROM schema_migrations ORDER BY version;";
        var versions = new List<int>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            versions.Add(Convert.ToInt32(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture));
        }

        Assert.Equal(SchemaMigrations.Guestbook.Select(m => m.Version), versions);
    }

    private sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now.ToUniversalTime();
    }
}
