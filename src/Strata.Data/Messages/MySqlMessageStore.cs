using MySqlConnector;
using Strata.Data.Connections;
using Strata.Data.Migrations;
using Strata.Topology;

namespace Strata.Data.Messages;

/// <summary>
/// The guestbook on a MySQL or MariaDB server, shared by every app node. Connections come from MySqlConnector's
/// pool; every statement is parameterized; tables are InnoDB in utf8mb4, so a commit is durable (as the server's
/// flush settings make it) and any Unicode text round-trips. The connect timeout also bounds the wait for a pooled
/// connection, so when the server is down a request fails within seconds instead of hanging.
/// </summary>
internal sealed class MySqlMessageStore : DbMessageStore
{
    /// <summary>How long opening a connection (or waiting for a free one in the pool) may take, unless the connection string says.</summary>
    internal static readonly TimeSpan DefaultConnectTimeout = MySqlConnectionFactory.DefaultConnectTimeout;

    private readonly MySqlConnectionFactory _connections;
    private readonly TimeProvider _timeProvider;

    /// <summary>A store on the server and database <paramref name="connectionString"/> names.</summary>
    /// <exception cref="ArgumentException"><paramref name="connectionString"/> is not a MySQL connection string.</exception>
    public MySqlMessageStore(string connectionString, TimeProvider timeProvider, DatabaseSpec? managed = null)
    {
        _connections = managed is { Managed: true } ? new MySqlConnectionFactory(managed, connectionString) : new MySqlConnectionFactory(connectionString);
        _timeProvider = timeProvider;
    }

    /// <summary>The connection string in use, with Strata's defaults applied.</summary>
    internal string ConnectionString => _connections.ConnectionString;

    public override async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _connections.OpenPrimaryAsync(cancellationToken);
        await MigrationRunner.ApplyAsync(connection, MigrationEngine.MySql, SchemaMigrations.Guestbook, _timeProvider, cancellationToken);
    }

    public override async Task<Message> AddAsync(string author, string text, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(author);
        ArgumentNullException.ThrowIfNull(text);

        // Stored to the millisecond; return exactly what a later read will return.
        var createdAt = DateTimeOffset.FromUnixTimeMilliseconds(_timeProvider.GetUtcNow().ToUnixTimeMilliseconds());

        // One autocommitted INSERT: committed when it returns, and LAST_INSERT_ID is this connection's own.
        return await _connections.WriteAsync(
            async connection =>
            {
                await using var command = connection.CreateCommand();
                command.CommandText = "INSERT INTO messages (author, text, created_at) VALUES (@author, @text, @createdAt);";
                command.Parameters.AddWithValue("@author", author);
                command.Parameters.AddWithValue("@text", text);
                command.Parameters.AddWithValue("@createdAt", createdAt.ToUnixTimeMilliseconds());
                await command.ExecuteNonQueryAsync(cancellationToken);
                return new Message(command.LastInsertedId, author, text, createdAt);
            },
            cancellationToken);
    }

    protected override async Task<System.Data.Common.DbConnection> OpenAsync(CancellationToken cancellationToken) => await OpenConnectionAsync(cancellationToken);

    private Task<MySqlConnection> OpenConnectionAsync(CancellationToken cancellationToken) => _connections.OpenAsync(cancellationToken);
}
