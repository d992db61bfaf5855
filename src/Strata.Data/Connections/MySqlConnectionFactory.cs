using MySqlConnector;

namespace Strata.Data.Connections;

/// <summary>
/// Opens connections to a MySQL or MariaDB server from MySqlConnector's pool, for every Strata store. The connect
/// timeout also bounds the wait for a pooled connection, so when the server is down a request fails within seconds
/// instead of hanging.
/// </summary>
internal sealed class MySqlConnectionFactory
{
    /// <summary>How long opening a connection (or waiting for a free one in the pool) may take, unless the connection string says.</summary>
    internal static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Connections to the server and database <paramref name="connectionString"/> names.</summary>
    /// <exception cref="ArgumentException"><paramref name="connectionString"/> is not a MySQL connection string.</exception>
    public MySqlConnectionFactory(string connectionString)
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
        ConnectionString = builder.ConnectionString;
    }

    /// <summary>The connection string in use, with Strata's defaults applied.</summary>
    public string ConnectionString { get; }

    /// <summary>An open connection from the pool.</summary>
    public async Task<MySqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new MySqlConnection(ConnectionString);
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
