using Microsoft.Data.Sqlite;
using Strata.Data.Messages;
using Strata.Data;
using Strata.Topology;

namespace Strata.Tests.Data;

/// <summary>The store contract on SQLite, plus what only SQLite has: the file, WAL, databases made before migrations.</summary>
public sealed class SqliteMessageStoreTests : MessageStoreTests
{
    protected override TestDatabases Databases { get; } = new SqliteTestDatabases();

    [Fact]
    public async Task InitializeAsync_MissingDirectory_CreatesFileInWalMode()
    {
        var spec = await DatabaseAsync();
        Assert.False(Directory.Exists(Path.GetDirectoryName(spec.Path)));

        await MessageStores.Create(spec).InitializeAsync(CancellationToken.None);

        Assert.True(File.Exists(spec.Path));
        using var connection = Open(spec.Path);
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", (string?)command.ExecuteScalar());
    }

    [Fact]
    public async Task InitializeAsync_DatabaseFromBeforeMigrations_KeepsMessagesAndRecordsVersionOne()
    {
        // The schema as SqliteMessageStore created it before the migration runner, with a message in it.
        var spec = await DatabaseAsync();
        Directory.CreateDirectory(Path.GetDirectoryName(spec.Path)!);
        using (var connection = Open(spec.Path))
        using (var command = connection.CreateCommand())
        {
            command.CommandText = """
                CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, author TEXT NOT NULL, text TEXT NOT NULL, created_at INTEGER NOT NULL);
                INSERT INTO messages (author, text, created_at) VALUES ('alice', 'from the old days', 1700000000000);
                """;
            command.ExecuteNonQuery();
        }

        var store = MessageStores.Create(spec);
        await store.InitializeAsync(CancellationToken.None);

        var message = Assert.Single(await store.LatestAsync(10, CancellationToken.None));
        Assert.Equal(("alice", "from the old days"), (message.Author, message.Text));
        await AssertEachMigrationRecordedOnceAsync(spec);
    }

    [Fact]
    public void Create_UnknownEngine_ThrowsNotSupported()
    {
        var error = Assert.Throws<NotSupportedException>(() => MessageStores.Create(new DatabaseSpec("oracle", "/tmp/x.db")));

        Assert.Contains("oracle", error.Message, StringComparison.Ordinal);
    }

    private static SqliteConnection Open(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }
}
