using Strata.Data.Managed;
using Strata.Topology;

namespace Strata.Data.Messages;

/// <summary>Creates the <see cref="IMessageStore"/> for a topology's database.</summary>
public static class MessageStores
{
    /// <summary>The embedded SQLite engine.</summary>
    public const string Sqlite = "sqlite";

    /// <summary>A MySQL or MariaDB server, reached through the topology's connection string.</summary>
    public const string MySql = "mysql";

    /// <summary>A store for <paramref name="database"/>, stamping messages with the system clock.</summary>
    /// <exception cref="NotSupportedException">The engine is not one this build knows.</exception>
    public static IMessageStore Create(DatabaseSpec database) => Create(database, TimeProvider.System);

    /// <summary>A store for <paramref name="database"/>, stamping messages with <paramref name="timeProvider"/>.</summary>
    /// <exception cref="NotSupportedException">The engine is not one this build knows.</exception>
    /// <exception cref="ArgumentException">The engine is "mysql" and the connection string is missing or malformed.</exception>
    public static IMessageStore Create(DatabaseSpec database, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(timeProvider);
        return database.Engine.ToLowerInvariant() switch
        {
            Sqlite => new SqliteMessageStore(database.Path, timeProvider),
            MySql => new MySqlMessageStore(MySqlConnectionString(database), timeProvider, database),
            _ => throw new NotSupportedException($"Database engine '{database.Engine}' is not supported; the engines are: {Sqlite}, {MySql}."),
        };
    }

    /// <summary>The connection string of a "mysql" database: the file's, or the managed server's application account.</summary>
    /// <exception cref="ArgumentException">The connection string is missing.</exception>
    /// <exception cref="InvalidOperationException">The managed server's password file is missing.</exception>
    public static string MySqlConnectionString(DatabaseSpec database) =>
        database.Managed
            ? ManagedDatabaseAccount.ConnectionString(database)
            : database.ConnectionString ?? throw new ArgumentException("database.connectionString is required when the engine is mysql.", nameof(database));
}
