using Microsoft.Data.Sqlite;
using Strata.Data.Connections;
using Strata.Data.Migrations;

namespace Strata.Data.Messages;

/// <summary>
/// The guestbook in one SQLite file, shared by every app process on the machine. WAL lets readers run beside
/// the single writer; synchronous=FULL makes a commit durable before AddAsync returns; the busy timeout makes a
/// writer wait for another process's lock instead of failing at once, and bounds that wait so no request hangs.
/// </summary>
internal sealed class SqliteMessageStore : DbMessageStore
{
    /// <summary>How long a statement waits for another connection's lock before giving up.</summary>
    internal static readonly TimeSpan BusyTimeout = SqliteConnectionFactory.BusyTimeout;

    private readonly SqliteConnectionFactory _connections;
    private readonly string _path;
    private readonly TimeProvider _timeProvider;

    public SqliteMessageStore(string path, TimeProvider timeProvider)
    {
        _connections = new SqliteConnectionFactory(path);
        _path = _connections.Path;
        _timeProvider = timeProvider;
    }

    public override async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(_path);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        await using var connection = await OpenConnectionAsync(cancellationToken);

        // WAL is a property of the file and persists; switching needs a moment of exclusive access, which the
        // busy timeout waits for if another process is initializing too. SQLite answers with the mode in force
        // rather than failing, so check it.
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "PRAGMA journal_mode = WAL;";
            var mode = (string?)await command.ExecuteScalarAsync(cancellationToken);
            if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"SQLite database '{_path}' stayed in journal mode '{mode}' instead of WAL.");
            }
        }

        await MigrationRunner.ApplyAsync(connection, MigrationEngine.Sqlite, SchemaMigrations.Guestbook, _timeProvider, cancellationToken);
    }

    public override async Task<Message> AddAsync(string author, string text, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(author);
        ArgumentNullException.ThrowIfNull(text);

        // Stored to the millisecond; return exactly what a later read will return.
        var createdAt = DateTimeOffset.FromUnixTimeMilliseconds(_timeProvider.GetUtcNow().ToUnixTimeMilliseconds());

        await using var connection = await OpenConnectionAsync(cancellationToken);

        // IMMEDIATE takes the write lock up front (waiting under the busy timeout) rather than failing on upgrade.
        await using var transaction = connection.BeginTransaction(deferred: false);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO messages (author, text, created_at) VALUES ($author, $text, $createdAt) RETURNING id;";
        command.Parameters.AddWithValue("$author", author);
        command.Parameters.AddWithValue("$text", text);
        command.Parameters.AddWithValue("$createdAt", createdAt.ToUnixTimeMilliseconds());
        var id = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        await transaction.CommitAsync(cancellationToken);
        return new Message(id, author, text, createdAt);
    }

    protected override async Task<System.Data.Common.DbConnection> OpenAsync(CancellationToken cancellationToken) => await OpenConnectionAsync(cancellationToken);

    private Task<SqliteConnection> OpenConnectionAsync(CancellationToken cancellationToken) => _connections.OpenAsync(cancellationToken);
}
