using Microsoft.Data.Sqlite;
using Strata.Data.Bench;
using Strata.Topology;

namespace Strata.Tests.Data.Bench;

/// <summary>The benchmark store contract on SQLite.</summary>
public sealed class SqliteWorldStoreTests : WorldStoreTests
{
    protected override TestDatabases Databases { get; } = new SqliteTestDatabases();

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
