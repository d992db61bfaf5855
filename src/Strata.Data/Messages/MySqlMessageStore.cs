using MySqlConnector;
using Strata.Data.Migrations;

namespace Strata.Data;

/// <summary>
/// The guestbook on a MySQL or MariaDB server, shared by every app node. Connections come from MySqlConnector's
/// pool; every statement is parameterized; tables are InnoDB in utf8mb4, so a commit is durable (as the server's
/// flush settings make it) and any Unicode text round-trips. The connect timeout also bounds the wait for a pooled
/// connection, so when the server is down a request fails within seconds instead of hanging.
/// </summary>
internal sealed class MySqlMessageStore : IMessageStore
{
    /// <summary>How long opening a connection (or waiting for a free one in the pool) may take, unless the connection string says.</summary>
    internal static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(5);

    private readonly string _connectionString;
    private readonly TimeProvider _timeProvider;

    /// <summary>A store on the server and database <paramref name="connectionString"/> names.</summary>
    /// <exception cref="ArgumentException"><paramref name="connectionString"/> is not a MySQL connection string.</exception>
    public MySqlMessageStore(string connectionString, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        MySqlConnectionStringBuilder builder;
        try
        {
            builder = new MySqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException ex)
        {
            // Say which setting is wrong without repeating the value, which may hold a password.
            throw new ArgumentException($"database.connectionString is not a valid MySQL connection string: {ex.Message}", nameof(connectionString), ex);
        }

        if (!builder.ContainsKey("Connection Timeout"))
        {
            builder.ConnectionTimeout = (uint)DefaultConnectTimeout.TotalSeconds;
        }

        builder.Pooling = true;
        _connectionString = builder.ConnectionString;
        _timeProvider = timeProvider;
    }

    /// <summary>The connection string in use, with Strata's defaults applied.</summary>
    internal string ConnectionString => _connectionString;

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await MigrationRunner.ApplyAsync(connection, MigrationEngine.MySql, SchemaMigrations.All, _timeProvider, cancellationToken);
    }

    public async Task<Message> AddAsync(string author, string text, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(author);
        ArgumentNullException.ThrowIfNull(text);

        // Stored to the millisecond; return exactly what a later read will return.
        var createdAt = DateTimeOffset.FromUnixTimeMilliseconds(_timeProvider.GetUtcNow().ToUnixTimeMilliseconds());

        // One autocommitted INSERT: committed when it returns, and LAST_INSERT_ID is this connection's own.
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO messages (author, text, created_at) VALUES (@author, @text, @createdAt);";
        command.Parameters.AddWithValue("@author", author);
        command.Parameters.AddWithValue("@text", text);
        command.Parameters.AddWithValue("@createdAt", createdAt.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken);
        return new Message(command.LastInsertedId, author, text, createdAt);
    }

    public async Task<IReadOnlyList<Message>> LatestAsync(int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);

        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, author, text, created_at FROM messages ORDER BY id DESC LIMIT @limit;";
        command.Parameters.AddWithValue("@limit", limit);
        return await ReadMessagesAsync(command, cancellationToken);
    }

    public async Task<IReadOnlyList<Message>> OlderAsync(long before, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);

        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, author, text, created_at FROM messages WHERE id < @before ORDER BY id DESC LIMIT @limit;";
        command.Parameters.AddWithValue("@before", before);
        command.Parameters.AddWithValue("@limit", limit);
        return await ReadMessagesAsync(command, cancellationToken);
    }

    public async Task<bool> DeleteAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM messages WHERE id = @id;";
        command.Parameters.AddWithValue("@id", id);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task<Message?> FindAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, author, text, created_at FROM messages WHERE id = @id;";
        command.Parameters.AddWithValue("@id", id);
        var messages = await ReadMessagesAsync(command, cancellationToken);
        return messages.Count == 0 ? null : messages[0];
    }

    public async Task PingAsync(CancellationToken cancellationToken)
    {
        // Touch the table, not just "SELECT 1": a server whose database lost the schema is not ready.
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM messages LIMIT 1;";
        await command.ExecuteScalarAsync(cancellationToken);
    }

    private static async Task<IReadOnlyList<Message>> ReadMessagesAsync(MySqlCommand command, CancellationToken cancellationToken)
    {
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

    private async Task<MySqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new MySqlConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}
