using System.Data.Common;

namespace Strata.Data.Messages;

/// <summary>
/// What the engines share: the reads, the delete and the ping, in plain ADO.NET with '@' parameters (which both
/// Microsoft.Data.Sqlite and MySqlConnector accept). An engine supplies its connections, its initialisation and
/// its insert (how a committed id comes back differs).
/// </summary>
internal abstract class DbMessageStore : IMessageStore
{
    private const string Columns = "SELECT id, author, text, created_at FROM messages";

    public abstract Task InitializeAsync(CancellationToken cancellationToken);

    public abstract Task<Message> AddAsync(string author, string text, CancellationToken cancellationToken);

    public async Task<IReadOnlyList<Message>> LatestAsync(int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return await QueryAsync($"{Columns} ORDER BY id DESC LIMIT @limit;", cancellationToken, ("@limit", limit));
    }

    public async Task<IReadOnlyList<Message>> OlderAsync(long before, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return await QueryAsync($"{Columns} WHERE id < @before ORDER BY id DESC LIMIT @limit;", cancellationToken, ("@before", before), ("@limit", limit));
    }

    public async Task<Message?> FindAsync(long id, CancellationToken cancellationToken)
    {
        var messages = await QueryAsync($"{Columns} WHERE id = @id;", cancellationToken, ("@id", id));
        return messages.Count == 0 ? null : messages[0];
    }

    public async Task<bool> DeleteAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, "DELETE FROM messages WHERE id = @id;", ("@id", id));
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task PingAsync(CancellationToken cancellationToken)
    {
        // Touch the table, not just "SELECT 1": a database that lost its schema (or was replaced) is not ready.
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, "SELECT 1 FROM messages LIMIT 1;");
        await command.ExecuteScalarAsync(cancellationToken);
    }

    /// <summary>An open connection with the engine's per-connection settings applied.</summary>
    protected abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>A command on <paramref name="connection"/> with its parameters.</summary>
    protected static DbCommand Command(DbConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    private async Task<IReadOnlyList<Message>> QueryAsync(string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, sql, parameters);
        var messages = new List<Message>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            messages.Add(new Message(
                reader.GetInt64(0),
                reader.GetString(1),
                reader.GetString(2),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3))));
        }

        return messages;
    }
}
