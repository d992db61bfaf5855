using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Strata.Data.Connections;

/// <summary>
/// Opens connections to one SQLite file the way every Strata store needs them. WAL (set once, by the message store's
/// initialization) lets readers run beside the single writer; synchronous=FULL makes a commit durable before the
/// call returns; the busy timeout makes a writer wait for another process's lock instead of failing at once, and
/// bounds that wait so no request hangs.
/// </summary>
internal sealed class SqliteConnectionFactory
{
    /// <summary>How long a statement waits for another connection's lock before giving up.</summary>
    internal static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(5);

    // The pool's native connections that have the settings already. Each keeps them for its life, so they are applied
    // once, when the pool opens it, not on every open from the pool (two statements, as many as a request's own query).
    // Weak: an entry goes when the pool closes its native connection. The handle is never reused for another one.
    private static readonly ConditionalWeakTable<sqlite3, object?> s_configured = [];

    private readonly string _connectionString;
    private readonly string _connectionPragmas;

    public SqliteConnectionFactory(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            // Microsoft.Data.Sqlite retries SQLITE_BUSY itself until this many seconds have passed (default 30).
            DefaultTimeout = (int)BusyTimeout.TotalSeconds,
        }.ToString();

        // Both settings belong to the connection, not the file, so every (possibly pooled) connection gets them.
        _connectionPragmas = $"PRAGMA busy_timeout = {(int)BusyTimeout.TotalMilliseconds}; PRAGMA synchronous = FULL;";
    }

    /// <summary>The database file, as a full path.</summary>
    public string Path { get; }

    /// <summary>An open connection with the per-connection settings applied.</summary>
    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            if (connection.Handle is { } handle && s_configured.TryGetValue(handle, out _))
            {
                return connection;
            }

            await using var command = connection.CreateCommand();
            command.CommandText = _connectionPragmas;
            await command.ExecuteNonQueryAsync(cancellationToken);
            if (connection.Handle is { } opened)
            {
                s_configured.TryAdd(opened, null);
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}
