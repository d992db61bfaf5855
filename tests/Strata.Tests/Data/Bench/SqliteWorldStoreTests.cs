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
    public void UpdateSql_ThreeRows_JoinsATableOfValues()
    {
        Assert.Equal(
            "UPDATE World SET randomNumber = v.column2 FROM (VALUES (@i0, @r0), (@i1, @r1), (@i2, @r2)) AS v WHERE World.id = v.column1;",
            DbWorldStore.UpdateSql(3));
    }
}
