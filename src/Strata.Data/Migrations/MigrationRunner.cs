// Why this file exists: the schema will change (indexes, new columns), and each app node creates the schema when
// it starts, so several nodes may start against the same database at the same moment. A tiny versioned runner
// (instead of a migrations library) keeps both engines on one history in `schema_migrations`, applies each step
// once, and serializes concurrent starters with the engine's own lock: BEGIN IMMEDIATE on SQLite (one writer per
// file), GET_LOCK on MySQL (a named lock held by the connection, released by RELEASE_LOCK or by disconnecting).
using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Strata.Data.Migrations;

/// <summary>Brings a database's schema up to the newest <see cref="Migration"/>, once, whoever else is trying.</summary>
internal static class MigrationRunner
{
    /// <summary>The MySQL named lock that serializes runners across processes.</summary>
    internal const string MySqlLockName = "strata_migrations";

    /// <summary>How long a runner waits for another process's migrations before failing (seconds).</summary>
    internal const int MySqlLockTimeoutSeconds = 30;

    private const string SqliteHistory = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    INTEGER PRIMARY KEY,
            name       TEXT    NOT NULL,
            applied_at INTEGER NOT NULL -- Unix time in milliseconds, UTC
        );
        """;

    private const string MySqlHistory = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    INT          NOT NULL PRIMARY KEY,
            name       VARCHAR(200) NOT NULL,
            applied_at BIGINT       NOT NULL COMMENT 'Unix time in milliseconds, UTC'
        ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
        """;

    /// <summary>
    /// Applies the steps of <paramref name="migrations"/> that <paramref name="connection"/>'s database lacks, in
    /// order, and returns how many it applied.
    /// </summary>
    /// <exception cref="DbException">The database failed, or (MySQL) another runner held the lock too long.</exception>
    public static async Task<int> ApplyAsync(
        DbConnection connection, MigrationEngine engine, IReadOnlyList<Migration> migrations, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(migrations);
        ArgumentNullException.ThrowIfNull(timeProvider);

        if (engine == MigrationEngine.Sqlite)
        {
            // IMMEDIATE takes the write lock before reading the history, so a second runner waits (busy timeout)
            // and then sees the first one's rows. SQLite DDL is transactional: a step and its row commit together.
            var sqlite = connection as SqliteConnection
                ?? throw new ArgumentException($"SQLite migrations need a {nameof(SqliteConnection)}.", nameof(connection));
            await using var transaction = sqlite.BeginTransaction(deferred: false);
            var applied = await ApplyMissingAsync(connection, transaction, engine, SqliteHistory, migrations, timeProvider, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return applied;
        }

        await AcquireMySqlLockAsync(connection, cancellationToken);
        try
        {
            return await ApplyMissingAsync(connection, null, engine, MySqlHistory, migrations, timeProvider, cancellationToken);
        }
        finally
        {
            // Not with the caller's token: the lock must go back even when the caller gave up. If the connection
            // itself broke, the server has already released the lock with it; keep the original error.
            try
            {
                await ExecuteAsync(connection, null, $"DO RELEASE_LOCK('{MySqlLockName}');", CancellationToken.None);
            }
            catch (DbException) when (connection.State != System.Data.ConnectionState.Open)
            {
            }
        }
    }

    private static async Task<int> ApplyMissingAsync(
        DbConnection connection, DbTransaction? transaction, MigrationEngine engine, string historyTable,
        IReadOnlyList<Migration> migrations, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        await ExecuteAsync(connection, transaction, historyTable, cancellationToken);

        var done = new HashSet<int>();
        await using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "SELECT version FROM schema_migrations;";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                done.Add(Convert.ToInt32(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        var applied = 0;
        foreach (var migration in migrations.OrderBy(m => m.Version))
        {
            if (done.Contains(migration.Version))
            {
                continue;
            }

            await ExecuteAsync(connection, transaction, migration.SqlFor(engine), cancellationToken);
            await using var record = connection.CreateCommand();
            record.Transaction = transaction;
            record.CommandText = "INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, @appliedAt);";
            AddParameter(record, "@version", migration.Version);
            AddParameter(record, "@name", migration.Name);
            AddParameter(record, "@appliedAt", timeProvider.GetUtcNow().ToUnixTimeMilliseconds());
            await record.ExecuteNonQueryAsync(cancellationToken);
            applied++;
        }

        return applied;
    }

    private static async Task AcquireMySqlLockAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT GET_LOCK('{MySqlLockName}', {MySqlLockTimeoutSeconds});";

        // The wait happens in the server; give the command time beyond it.
        command.CommandTimeout = MySqlLockTimeoutSeconds + 10;

        // 1: acquired; 0: timed out; NULL: an error (e.g. killed).
        var result = await command.ExecuteScalarAsync(cancellationToken);
        if (result is null or DBNull || Convert.ToInt64(result, System.Globalization.CultureInfo.InvariantCulture) != 1)
        {
            throw new MigrationLockException(
                $"Another process held the '{MySqlLockName}' lock for more than {MySqlLockTimeoutSeconds} s; schema migrations did not run.");
        }
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}

/// <summary>The migration lock could not be taken in time: the database is busy, so this is a database failure.</summary>
internal sealed class MigrationLockException(string message) : DbException(message);
