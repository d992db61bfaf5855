using System.Data.Common;
using Microsoft.Data.Sqlite;
using Strata.Data.Bench;
using Strata.Topology;

namespace Strata.Tests.Data.Bench;

/// <summary>The benchmark store contract on SQLite.</summary>
public sealed class SqliteWorldStoreTests : WorldStoreTests
{
    private readonly List<TempDatabase> _databases = [];

    protected override Task<DatabaseSpec> NewDatabaseAsync()
    {
        var database = new TempDatabase();
        _databases.Add(database);
        return Task.FromResult(database.Spec);
    }

    protected override Task<DbConnection> OpenConnectionAsync(DatabaseSpec database)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database.Path, Pooling = false }.ToString());
        connection.Open();
        return Task.FromResult<DbConnection>(connection);
    }

    // A file under a folder that is not there and cannot be created (a regular file is in the way).
    protected override Task<DatabaseSpec> UnreachableDatabaseAsync()
    {
        var database = new TempDatabase();
        _databases.Add(database);
        var blocker = Path.Combine(database.Directory, "not-a-folder");
        File.WriteAllText(blocker, "");
        return Task.FromResult(new DatabaseSpec("sqlite", Path.Combine(blocker, "foobar.db")));
    }

    public override Task DisposeAsync()
    {
        foreach (var database in _databases)
        {
            database.Dispose();
        }

        return Task.CompletedTask;
    }

    [Fact]
    public void Create_UnknownEngine_ThrowsNotSupported()
    {
        var error = Assert.Throws<NotSupportedException>(() => WorldStores.Create(new DatabaseSpec("oracle", "/tmp/x.db")));

        Assert.Contains("oracle", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UpdateSql_ThreeRows_NamesEachIdTwice()
    {
        Assert.Equal(
            "UPDATE World SET randomNumber = CASE id WHEN @i0 THEN @r0 WHEN @i1 THEN @r1 WHEN @i2 THEN @r2 END WHERE id IN (@i0, @i1, @i2);",
            DbWorldStore.UpdateSql(3));
    }
}
