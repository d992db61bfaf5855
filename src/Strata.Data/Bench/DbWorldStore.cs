using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Text;
using Strata.Data.Migrations;

namespace Strata.Data.Bench;

/// <summary>
/// What the engines share: every query, in plain ADO.NET with '@' parameters (which both Microsoft.Data.Sqlite and
/// MySqlConnector accept). An engine supplies only its connections. Kept lean for the benchmark's hot path: one
/// command per connection, re-executed with a new parameter value, no LINQ.
/// </summary>
internal abstract class DbWorldStore : IWorldStore
{
    /// <summary>The most rows one request updates (the benchmark clamps its count to 500); longer batches are built but not cached.</summary>
    private const int CachedBatches = 500;

    private const string SelectWorld = "SELECT id, randomNumber FROM World WHERE id = @id;";

    // UPDATE statements by row count, built on first use. Strings are immutable, so a race only builds one twice.
    private static readonly string?[] s_updateSql = new string?[CachedBatches + 1];

    /// <summary>The engine, for the migrations' SQL.</summary>
    protected abstract MigrationEngine Engine { get; }

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await MigrationRunner.ApplyAsync(connection, Engine, SchemaMigrations.Benchmarks, TimeProvider.System, cancellationToken);
    }

    public async Task<World> GetWorldAsync(int id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, SelectWorld, out var idParameter);
        idParameter.Value = id;
        return await ReadWorldAsync(command, id, cancellationToken);
    }

    public async Task<World[]> GetWorldsAsync(int[] ids, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var worlds = new World[ids.Length];
        if (ids.Length == 0)
        {
            return worlds;
        }

        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, SelectWorld, out var idParameter);
        for (var i = 0; i < ids.Length; i++)
        {
            idParameter.Value = ids[i];
            worlds[i] = await ReadWorldAsync(command, ids[i], cancellationToken);
        }

        return worlds;
    }

    public async Task<List<Fortune>> GetFortunesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, message FROM Fortune;";

        // Twelve rows plus the one the fortunes test adds.
        var fortunes = new List<Fortune>(16);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            fortunes.Add(new Fortune(reader.GetInt32(0), reader.GetString(1)));
        }

        return fortunes;
    }

    public async Task UpdateWorldsAsync(World[] worlds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(worlds);
        if (worlds.Length == 0)
        {
            return;
        }

        await using var connection = await OpenAsync(cancellationToken);
        await UpdateAsync(connection, worlds, cancellationToken);
    }

    /// <summary>An open connection with the engine's per-connection settings applied.</summary>
    protected abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Stores the rows over <paramref name="connection"/>: by default in one statement (<see cref="UpdateSql"/>), one
    /// implicit transaction, which the updates test allows ("individual update statements that affect multiple rows").
    /// An engine whose benchmark counts statements overrides it (MySQL: <see cref="MySqlWorldStore"/>).
    /// </summary>
    protected virtual async Task UpdateAsync(DbConnection connection, World[] worlds, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = UpdateSql(worlds.Length);
        for (var i = 0; i < worlds.Length; i++)
        {
            AddParameter(command, "@i" + i.ToString(CultureInfo.InvariantCulture), worlds[i].Id);
            AddParameter(command, "@r" + i.ToString(CultureInfo.InvariantCulture), worlds[i].RandomNumber);
        }

        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// One statement for <paramref name="count"/> rows, joined to a table of values (SQLite's <c>UPDATE ... FROM</c>, as
    /// the TechEmpower Platform entries' batch update): <c>UPDATE World SET randomNumber = v.column2 FROM (VALUES (@i0,
    /// @r0), ...) AS v WHERE World.id = v.column1</c>. Each row is found by its key once; the earlier <c>CASE id WHEN ...
    /// END WHERE id IN (...)</c> compared every row against every id (0.64–0.70× of the reference at 20 rows).
    /// </summary>
    internal static string UpdateSql(int count)
    {
        if (count <= CachedBatches && s_updateSql[count] is { } cached)
        {
            return cached;
        }

        var sql = new StringBuilder("UPDATE World SET randomNumber = v.column2 FROM (VALUES ", 96 + (count * 16));
        for (var i = 0; i < count; i++)
        {
            sql.Append(CultureInfo.InvariantCulture, $"{(i == 0 ? "" : ", ")}(@i{i}, @r{i})");
        }

        var built = sql.Append(") AS v WHERE World.id = v.column1;").ToString();
        if (count <= CachedBatches)
        {
            s_updateSql[count] = built;
        }

        return built;
    }

    private static DbCommand Command(DbConnection connection, string sql, out DbParameter idParameter)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        idParameter = AddParameter(command, "@id", 0);
        return command;
    }

    private static DbParameter AddParameter(DbCommand command, string name, int value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.DbType = DbType.Int32;
        parameter.Value = value;
        command.Parameters.Add(parameter);
        return parameter;
    }

    private static async Task<World> ReadWorldAsync(DbCommand command, int id, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SingleRow, cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            throw new KeyNotFoundException($"There is no World row {id}.");
        }

        return new World(reader.GetInt32(0), reader.GetInt32(1));
    }
}
