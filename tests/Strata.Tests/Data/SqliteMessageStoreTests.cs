using System.Data.Common;
using Strata.Data;

namespace Strata.Tests.Data;

public sealed class SqliteMessageStoreTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    private async Task<IMessageStore> CreateInitializedAsync()
    {
        var store = MessageStores.Create(_database.Spec);
        await store.InitializeAsync(CancellationToken.None);
        return store;
    }

    [Fact]
    public async Task InitializeAsync_MissingDirectory_CreatesFileInWalMode()
    {
        Assert.False(Directory.Exists(Path.GetDirectoryName(_database.Path)));

        await CreateInitializedAsync();

        Assert.True(File.Exists(_database.Path));
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", (string?)command.ExecuteScalar());
    }

    [Fact]
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

    [Fact]
    public async Task AddAsync_Always_ReturnsWhatIsStored()
    {
        var time = new FixedTimeProvider(new DateTimeOffset(2025, 3, 4, 5, 6, 7, 891, TimeSpan.FromHours(2)).AddTicks(1234));
        var store = MessageStores.Create(_database.Spec, time);
        await store.InitializeAsync(CancellationToken.None);

        var added = await store.AddAsync("alice", "hello", CancellationToken.None);

        Assert.Equal(new DateTimeOffset(2025, 3, 4, 3, 6, 7, 891, TimeSpan.Zero), added.CreatedAt);
        Assert.Equal(TimeSpan.Zero, added.CreatedAt.Offset);
        Assert.Equal(added, await store.FindAsync(added.Id, CancellationToken.None));
        Assert.Equal(added, Assert.Single(await store.LatestAsync(1, CancellationToken.None)));
    }

    [Fact]
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

    [Fact]
    public async Task LatestAsync_EmptyDatabase_ReturnsEmpty()
    {
        var store = await CreateInitializedAsync();

        Assert.Empty(await store.LatestAsync(20, CancellationToken.None));
    }

    [Fact]
    public async Task LatestAsync_LimitBelowOne_Throws()
    {
        var store = await CreateInitializedAsync();

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.LatestAsync(0, CancellationToken.None));
    }

    [Fact]
    public async Task FindAsync_UnknownId_ReturnsNull()
    {
        var store = await CreateInitializedAsync();

        Assert.Null(await store.FindAsync(42, CancellationToken.None));
    }

    [Fact]
    public async Task InitializeAsync_Twice_KeepsData()
    {
        var store = await CreateInitializedAsync();
        var added = await store.AddAsync("alice", "still here", CancellationToken.None);

        await store.InitializeAsync(CancellationToken.None);
        await MessageStores.Create(_database.Spec).InitializeAsync(CancellationToken.None);

        Assert.Equal(added, Assert.Single(await store.LatestAsync(10, CancellationToken.None)));
    }

    [Fact]
    public async Task InitializeAsync_ConcurrentlyFromTwoStores_BothSucceed()
    {
        // Several rounds on fresh files: the race is between creating the file, switching it to WAL and creating the table.
        for (var round = 0; round < 5; round++)
        {
            using var database = new TempDatabase();
            var one = MessageStores.Create(database.Spec);
            var two = MessageStores.Create(database.Spec);
            using var start = new Barrier(2);

            await Task.WhenAll(
                Task.Run(async () => { start.SignalAndWait(); await one.InitializeAsync(CancellationToken.None); }),
                Task.Run(async () => { start.SignalAndWait(); await two.InitializeAsync(CancellationToken.None); }));

            var added = await one.AddAsync("alice", "from one", CancellationToken.None);
            Assert.Equal(added, Assert.Single(await two.LatestAsync(10, CancellationToken.None)));
        }
    }

    [Fact]
    public async Task AddAsync_ConcurrentlyFromTwoStores_KeepsEveryMessage()
    {
        var one = await CreateInitializedAsync();
        var two = MessageStores.Create(_database.Spec);
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

    [Fact]
    public async Task AddAsync_TextWithSqlMetacharacters_StoresItVerbatim()
    {
        var store = await CreateInitializedAsync();
        const string Author = "O'Brien \"Bobby\" Tables";
        const string Text = "hi'); DROP TABLE messages; -- $text @text :text ? \0 ünïcødé 🎉";

        var added = await store.AddAsync(Author, Text, CancellationToken.None);
        await store.AddAsync("after", "the table survived", CancellationToken.None);

        var found = await store.FindAsync(added.Id, CancellationToken.None);
        Assert.NotNull(found);
        Assert.Equal(Author, found.Author);
        Assert.Equal(Text, found.Text);
        Assert.Equal(2, (await store.LatestAsync(10, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task PingAsync_Initialized_Succeeds()
    {
        var store = await CreateInitializedAsync();

        await store.PingAsync(CancellationToken.None);
    }

    [Fact]
    public async Task PingAsync_NotInitialized_ThrowsDbException()
    {
        var store = MessageStores.Create(_database.Spec);
        Directory.CreateDirectory(Path.GetDirectoryName(_database.Path)!);

        await Assert.ThrowsAnyAsync<DbException>(() => store.PingAsync(CancellationToken.None));
    }

    [Fact]
    public void Create_UnknownEngine_ThrowsNotSupported()
    {
        var error = Assert.Throws<NotSupportedException>(() => MessageStores.Create(new Strata.Topology.DatabaseSpec("oracle", _database.Path)));

        Assert.Contains("oracle", error.Message, StringComparison.Ordinal);
    }

    private sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now.ToUniversalTime();
    }
}
