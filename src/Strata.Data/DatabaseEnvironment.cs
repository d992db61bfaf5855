using MySqlConnector;
using Strata.Topology;
using Strata.Data.Messages;

namespace Strata.Data;

/// <summary>How a program that is not Strata's (the user's own application) is told where the database is.</summary>
public static class DatabaseEnvironment
{
    /// <summary>
    /// <c>DATABASE_URL</c> (the twelve-factor convention: <c>sqlite:////abs/file.db</c> or
    /// <c>mysql://user:password@host:port/database</c>, escaped) and <c>STRATA_DATABASE</c> (the SQLite file's path,
    /// or a MySQL connection string as MySqlConnector and MySQL's .NET and ODBC drivers take it).
    /// </summary>
    /// <exception cref="InvalidOperationException">The managed server's password file is missing.</exception>
    public static (string DatabaseUrl, string StrataDatabase) For(DatabaseSpec database)
    {
        ArgumentNullException.ThrowIfNull(database);
        if (database.Engine != MessageStores.MySql)
        {
            return ($"sqlite:///{database.Path}", database.Path);
        }

        var connectionString = MessageStores.MySqlConnectionString(database);
        var builder = new MySqlConnectionStringBuilder(connectionString);
        var credentials = Uri.EscapeDataString(builder.UserID)
            + (string.IsNullOrEmpty(builder.Password) ? "" : ":" + Uri.EscapeDataString(builder.Password));
        return ($"mysql://{credentials}@{builder.Server}:{builder.Port}/{Uri.EscapeDataString(builder.Database)}", connectionString);
    }
}
