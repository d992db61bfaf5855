using System.Data;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using MySqlConnector;

namespace Reference;

/// <summary>
/// The database work of the four database tests, in raw ADO.NET as TechEmpower's aspnetcore "Platform" entry does it
/// (its RawDb): a pooled connection per request, one command re-executed with a new parameter value, no ORM.
/// </summary>
public abstract class Db
{
    protected const string SelectWorld = "SELECT id, randomNumber FROM World WHERE id = @id";
    protected const string SelectFortunes = "SELECT id, message FROM Fortune";
    private const string AdditionalFortune = "Additional fortune added at request time.";

    public abstract Task<World> LoadSingleQueryRow();

    public abstract Task<World[]> LoadMultipleQueriesRows(int count);

    public abstract Task<World[]> LoadMultipleUpdatesRows(int count);

    public abstract Task<List<Fortune>> LoadFortunesRows();

    protected static int RandomId() => Random.Shared.Next(1, 10001);

    /// <summary>Distinct ids, so each row is updated once and the answer is what is stored.</summary>
    protected static int[] DistinctRandomIds(int count)
    {
        var ids = new int[count];
        var seen = new HashSet<int>(count);
        for (var i = 0; i < count;)
        {
            var id = RandomId();
            if (seen.Add(id))
            {
                ids[i++] = id;
            }
        }

        return ids;
    }

    /// <summary>A new number for each row, different from the one it had.</summary>
    protected static void NewNumbers(World[] worlds)
    {
        for (var i = 0; i < worlds.Length; i++)
        {
            var number = RandomId();
            while (number == worlds[i].RandomNumber)
            {
                number = RandomId();
            }

            worlds[i] = worlds[i] with { RandomNumber = number };
        }
    }

    /// <summary>The rows read, the request-time row added, sorted by message.</summary>
    protected static List<Fortune> Complete(List<Fortune> fortunes)
    {
        fortunes.Add(new Fortune(0, AdditionalFortune));
        fortunes.Sort(static (a, b) => string.CompareOrdinal(a.Message, b.Message));
        return fortunes;
    }
}

/// <summary>SQLite (Microsoft.Data.Sqlite, pooled connections) on the file Strata's app node migrated.</summary>
public sealed class SqliteDb(string path) : Db
{
    private readonly string _connectionString = new SqliteConnectionStringBuilder
    {
        DataSource = Path.GetFullPath(path),
        Mode = SqliteOpenMode.ReadWrite,
        Pooling = true,
        DefaultTimeout = 5,
    }.ToString();

    // Bulk UPDATE statements by row count, as the Platform entry's BatchUpdateString (its PostgreSQL form, in SQLite's
    // UPDATE ... FROM (VALUES ...)): one statement, one commit, which the updates test allows.
    private static readonly string?[] s_updates = new string?[501];

    public override async Task<World> LoadSingleQueryRow()
    {
        await using var connection = await OpenAsync();
        await using var command = ReadCommand(connection, out var id);
        id.Value = RandomId();
        return await ReadSingleRow(command);
    }

    public override async Task<World[]> LoadMultipleQueriesRows(int count)
    {
        var worlds = new World[count];
        await using var connection = await OpenAsync();
        await using var command = ReadCommand(connection, out var id);
        for (var i = 0; i < count; i++)
        {
            id.Value = RandomId();
            worlds[i] = await ReadSingleRow(command);
        }

        return worlds;
    }

    public override async Task<World[]> LoadMultipleUpdatesRows(int count)
    {
        var ids = DistinctRandomIds(count);
        var worlds = new World[count];
        await using var connection = await OpenAsync();
        await using (var read = ReadCommand(connection, out var id))
        {
            for (var i = 0; i < count; i++)
            {
                id.Value = ids[i];
                worlds[i] = await ReadSingleRow(read);
            }
        }

        NewNumbers(worlds);
        await using var update = connection.CreateCommand();
        update.CommandText = UpdateSql(count);
        for (var i = 0; i < count; i++)
        {
            update.Parameters.Add(new SqliteParameter("@i" + i.ToString(CultureInfo.InvariantCulture), SqliteType.Integer) { Value = worlds[i].Id });
            update.Parameters.Add(new SqliteParameter("@r" + i.ToString(CultureInfo.InvariantCulture), SqliteType.Integer) { Value = worlds[i].RandomNumber });
        }

        await update.ExecuteNonQueryAsync();
        return worlds;
    }

    public override async Task<List<Fortune>> LoadFortunesRows()
    {
        // The test's rules forbid sizing the list in advance.
        var fortunes = new List<Fortune>();
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = SelectFortunes;
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            fortunes.Add(new Fortune(reader.GetInt32(0), reader.GetString(1)));
        }

        return Complete(fortunes);
    }

    private async Task<SqliteConnection> OpenAsync()
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync();
        return connection;
    }

    private static SqliteCommand ReadCommand(SqliteConnection connection, out SqliteParameter id)
    {
        var command = connection.CreateCommand();
        command.CommandText = SelectWorld;
        id = command.Parameters.Add("@id", SqliteType.Integer);
        return command;
    }

    private static async Task<World> ReadSingleRow(SqliteCommand command)
    {
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SingleRow);
        await reader.ReadAsync();
        return new World(reader.GetInt32(0), reader.GetInt32(1));
    }

    private static string UpdateSql(int count)
    {
        if (s_updates[count] is { } cached)
        {
            return cached;
        }

        var sql = new StringBuilder("UPDATE World SET randomNumber = v.column2 FROM (VALUES ", 80 + (count * 16));
        for (var i = 0; i < count; i++)
        {
            sql.Append(CultureInfo.InvariantCulture, $"{(i == 0 ? "" : ", ")}(@i{i}, @r{i})");
        }

        return s_updates[count] = sql.Append(") AS v WHERE World.id = v.column1").ToString();
    }
}

/// <summary>MySQL/MariaDB (MySqlConnector's data source and pool), as the Platform entry's RawDbMySqlConnector.</summary>
public sealed class MySqlDb(string connectionString) : Db
{
    private const string UpdateWorld = "UPDATE World SET randomNumber = @r WHERE id = @i";

    private readonly MySqlDataSource _dataSource = new(connectionString);

    public override async Task<World> LoadSingleQueryRow()
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var command = new MySqlCommand(SelectWorld, connection);
        command.Parameters.Add(new MySqlParameter("@id", MySqlDbType.Int32) { Value = RandomId() });
        return await ReadSingleRow(command);
    }

    public override async Task<World[]> LoadMultipleQueriesRows(int count)
    {
        // One query per row, all sent in one round trip (a batch), as the Platform entry does.
        var worlds = new World[count];
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var batch = new MySqlBatch(connection);
        for (var i = 0; i < count; i++)
        {
            batch.BatchCommands.Add(new MySqlBatchCommand(SelectWorld) { Parameters = { new MySqlParameter("@id", MySqlDbType.Int32) { Value = RandomId() } } });
        }

        await using var reader = await batch.ExecuteReaderAsync();
        for (var i = 0; i < count; i++)
        {
            await reader.ReadAsync();
            worlds[i] = new World(reader.GetInt32(0), reader.GetInt32(1));
            await reader.NextResultAsync();
        }

        return worlds;
    }

    public override async Task<World[]> LoadMultipleUpdatesRows(int count)
    {
        var ids = DistinctRandomIds(count);
        var worlds = new World[count];
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using (var read = new MySqlCommand(SelectWorld, connection))
        {
            var id = read.Parameters.Add(new MySqlParameter("@id", MySqlDbType.Int32));
            for (var i = 0; i < count; i++)
            {
                id.Value = ids[i];
                worlds[i] = await ReadSingleRow(read);
            }
        }

        // One single-row UPDATE per row (TechEmpower's verifier counts MySQL's statements), in one round trip, each
        // committed on its own: the rules allow a transaction around one row's read and write only.
        NewNumbers(worlds);
        await using var batch = new MySqlBatch(connection);
        foreach (var world in worlds)
        {
            batch.BatchCommands.Add(new MySqlBatchCommand(UpdateWorld)
            {
                Parameters =
                {
                    new MySqlParameter("@r", MySqlDbType.Int32) { Value = world.RandomNumber },
                    new MySqlParameter("@i", MySqlDbType.Int32) { Value = world.Id },
                },
            });
        }

        await batch.ExecuteNonQueryAsync();
        return worlds;
    }

    public override async Task<List<Fortune>> LoadFortunesRows()
    {
        var fortunes = new List<Fortune>();
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var command = new MySqlCommand(SelectFortunes, connection);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            fortunes.Add(new Fortune(reader.GetInt32(0), reader.GetString(1)));
        }

        return Complete(fortunes);
    }

    private static async Task<World> ReadSingleRow(MySqlCommand command)
    {
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SingleRow);
        await reader.ReadAsync();
        return new World(reader.GetInt32(0), reader.GetInt32(1));
    }
}
