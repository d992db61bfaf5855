using System.Collections.Concurrent;
using MySqlConnector;
using Strata.Topology;

namespace Strata.Data.Connections;

/// <summary>
/// Opens connections to a MySQL or MariaDB server from MySqlConnector's pool, for every Strata store. The connect
/// timeout also bounds the wait for a pooled connection, so when the server is down a request fails within seconds
/// instead of hanging. With managed database nodes (a primary and replicas) the server is the primary the
/// <see cref="PrimaryLocator"/> names, and <see cref="WriteAsync{T}"/> carries a write over a failover or a
/// switchover when it can know the write did not happen (docs/database.md, "What the app nodes see").
/// </summary>
internal sealed class MySqlConnectionFactory
{
    /// <summary>How long opening a connection (or waiting for a free one in the pool) may take, unless the connection string says.</summary>
    internal static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long a read waits for a primary before it goes to a replica instead.</summary>
    private static readonly TimeSpan ReadWait = TimeSpan.FromSeconds(1);

    /// <summary>Opening a connection to a managed node: they share a network.</summary>
    private static readonly TimeSpan ManagedConnectTimeout = TimeSpan.FromSeconds(2);

    /// <summary>A statement on a managed node (every one of the application's is a few milliseconds).</summary>
    private static readonly TimeSpan ManagedCommandTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long a write waits for a primary before it fails: longer than a failover takes (docs/database.md).</summary>
    internal static readonly TimeSpan FailoverBudget = TimeSpan.FromSeconds(10);

    /// <summary>ER_OPTION_PREVENTS_STATEMENT: the server is read-only (a replica, or a primary handing over); nothing was written.</summary>
    private const int ReadOnlyError = 1290;

    private readonly PrimaryLocator? _locator;
    private readonly ConcurrentDictionary<NodeSpec, string> _byNode = new();
    private NodeSpec? _lastUsed;

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

    /// <summary>Connections to whichever of <paramref name="database"/>'s managed nodes is primary.</summary>
    public MySqlConnectionFactory(DatabaseSpec database, string connectionString)
        : this(connectionString)
    {
        _locator = database.Nodes.Length > 1 ? PrimaryLocator.For(database) : null;
    }

    /// <summary>The connection string in use, with Strata's defaults applied (for managed nodes: the first node's).</summary>
    public string ConnectionString { get; }

    /// <summary>
    /// An open connection from the pool, to read (or to write where a refusal is an answer: it is the primary's when
    /// there is one; during a failover, after <see cref="ReadWait"/>, a replica's, which reads and refuses writes).
    /// </summary>
    public async Task<MySqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (_locator is null)
        {
            return await OpenAsync(ConnectionString, cancellationToken);
        }

        // A read is safe to try again: a node that cannot be reached (killed, cut off) is left for the next one.
        var deadline = DateTime.UtcNow + FailoverBudget;
        while (true)
        {
            try
            {
                return await OpenPrimaryAsync(ReadWait, cancellationToken);
            }
            catch (NoPrimaryException) when (_locator.Readable is [var replica, ..])
            {
                try
                {
                    return await OpenAsync(For(replica), cancellationToken);
                }
                catch (MySqlException) when (DateTime.UtcNow < deadline)
                {
                    _locator.Suspect(replica);
                }
            }
            catch (Exception e) when (e is NoPrimaryException or MySqlException && DateTime.UtcNow < deadline)
            {
                // OpenPrimaryAsync told the locator already.
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>An open connection to the primary (with managed nodes), to write.</summary>
    public Task<MySqlConnection> OpenPrimaryAsync(CancellationToken cancellationToken) =>
        _locator is null ? OpenAsync(ConnectionString, cancellationToken) : OpenPrimaryAsync(DefaultConnectTimeout, cancellationToken);

    private async Task<MySqlConnection> OpenPrimaryAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        var primary = await _locator!.WaitAsync(wait, cancellationToken);
        var previous = Interlocked.Exchange(ref _lastUsed, primary);
        if (previous is not null && previous != primary)
        {
            // Connections kept to the old primary would only ever fail or be refused: close them now.
            await MySqlConnection.ClearPoolAsync(new MySqlConnection(For(previous)), cancellationToken);
        }

        try
        {
            return await OpenAsync(For(primary), cancellationToken);
        }
        catch (MySqlException)
        {
            _locator.Suspect(primary);
            throw;
        }
    }

    /// <summary>
    /// Runs <paramref name="write"/> on a connection to the primary. When there is none yet, when it cannot be reached,
    /// or when the server refuses the statement as read-only (it is handing over), nothing was written: the write is
    /// tried again on the next primary, for up to <see cref="FailoverBudget"/>. A failure after the statement may have
    /// reached a primary is never retried (it may have committed).
    /// </summary>
    public async Task<T> WriteAsync<T>(Func<MySqlConnection, Task<T>> write, CancellationToken cancellationToken)
    {
        if (_locator is null)
        {
            await using var only = await OpenPrimaryAsync(cancellationToken);
            return await write(only);
        }

        var deadline = DateTime.UtcNow + FailoverBudget;
        while (true)
        {
            MySqlConnection connection;
            try
            {
                connection = await OpenPrimaryAsync(cancellationToken);
            }
            catch (Exception e) when (e is NoPrimaryException or MySqlException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, cancellationToken);
                continue;
            }

            await using (connection)
            {
                try
                {
                    return await write(connection);
                }
                catch (MySqlException e) when (e.Number == ReadOnlyError && DateTime.UtcNow < deadline)
                {
                    _locator.Suspect(_lastUsed!);
                }
                catch (MySqlException e) when (e.Number is (int)MySqlErrorCode.UnableToConnectToHost or >= 2000)
                {
                    // The connection broke under the statement: it may have committed, so it is not tried again.
                    _locator.Suspect(_lastUsed!);
                    throw;
                }
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    // Managed nodes are on the same network: a node that takes 2 s to accept a connection, or 5 s to answer a
    // statement of this application, is gone (cut off), and the caller moves on rather than waiting out the defaults.
    private string For(NodeSpec node) => _byNode.GetOrAdd(node, n => new MySqlConnectionStringBuilder(ConnectionString)
    {
        Server = n.Address.Address.ToString(),
        Port = (uint)n.Address.Port,
        ConnectionTimeout = (uint)ManagedConnectTimeout.TotalSeconds,
        DefaultCommandTimeout = (uint)ManagedCommandTimeout.TotalSeconds,
    }.ConnectionString);

    private static async Task<MySqlConnection> OpenAsync(string connectionString, CancellationToken cancellationToken)
    {
        var connection = new MySqlConnection(connectionString);
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
