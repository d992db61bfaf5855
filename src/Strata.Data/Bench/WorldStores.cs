using Strata.Topology;
using Strata.Data.Messages;

namespace Strata.Data.Bench;

/// <summary>Creates the <see cref="IWorldStore"/> for a topology's database, on the same engine as its <see cref="IMessageStore"/>.</summary>
public static class WorldStores
{
    /// <summary>A store for <paramref name="database"/>.</summary>
    /// <exception cref="NotSupportedException">The engine is not one this build knows.</exception>
    /// <exception cref="ArgumentException">The engine is "mysql" and the connection string is missing or malformed.</exception>
    /// <exception cref="InvalidOperationException">The managed server's password file is missing.</exception>
    public static IWorldStore Create(DatabaseSpec database)
    {
        ArgumentNullException.ThrowIfNull(database);
        return database.Engine.ToLowerInvariant() switch
        {
            MessageStores.Sqlite => new SqliteWorldStore(database.Path),
            MessageStores.MySql => new MySqlWorldStore(MessageStores.MySqlConnectionString(database), database),
            _ => throw new NotSupportedException($"Database engine '{database.Engine}' is not supported; the engines are: {MessageStores.Sqlite}, {MessageStores.MySql}."),
        };
    }
}
