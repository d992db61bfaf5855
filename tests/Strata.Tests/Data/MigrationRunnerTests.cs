using Microsoft.Data.Sqlite;
using Strata.Data.Migrations;

namespace Strata.Tests.Data;

public sealed class MigrationRunnerTests : IDisposable
{
    private static readonly Migration One = new(1, "create a", "CREATE TABLE a (x INTEGER);", "CREATE TABLE a (x INT);");
    private static readonly Migration Two = new(2, "create b", "CREATE TABLE b (y INTEGER);", "CREATE TABLE b (y INT);");
    private static readonly Migration Broken = new(3, "broken", "CREATE TABLE c (z INTEGER); NOT SQL;", "NOT SQL;");

    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task ApplyAsync_NewStepAppended_AppliesOnlyThatStep()
    {
        await using var connection = Open();

        Assert.Equal(1, await MigrationRunner.ApplyAsync(connection, MigrationEngine.Sqlite, [One], TimeProvider.System, CancellationToken.None));
        Assert.Equal(1, await MigrationRunner.ApplyAsync(connection, MigrationEngine.Sqlite, [Two, One], TimeProvider.System, CancellationToken.None));
        Assert.Equal(0, await MigrationRunner.ApplyAsync(connection, MigrationEngine.Sqlite, [One, Two], TimeProvider.System, CancellationToken.None));

        Assert.Equal(["1 create a", "2 create b"], Query(connection, "SELECT version || ' ' || name FROM schema_migrations ORDER BY version;"));
    }

    [Fact]
    public async Task ApplyAsync_StepFails_RecordsNothingOfThatRunOnSqlite()
    {
        await using var connection = Open();

        await Assert.ThrowsAnyAsync<SqliteException>(() =>
            MigrationRunner.ApplyAsync(connection, MigrationEngine.Sqlite, [One, Broken], TimeProvider.System, CancellationToken.None));

        // One transaction: the failed run leaves neither step 1 nor a half of step 3 behind.
        Assert.Empty(Query(connection, "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('a', 'c', 'schema_migrations');"));
    }

    private SqliteConnection Open()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_database.Path)!);
        var connection = _database.OpenConnection();
        return connection;
    }

    private static List<string> Query(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }
}
