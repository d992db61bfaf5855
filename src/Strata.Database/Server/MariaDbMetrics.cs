using System.Globalization;
using MySqlConnector;
using Strata.Data.Managed;
using Strata.Database.Replication;
using Strata.Hosting.Metrics;

namespace Strata.Database.Server;

/// <summary>
/// The managed server's own counters in the node's /metrics, read from <c>SHOW GLOBAL STATUS</c> and
/// <c>SHOW GLOBAL VARIABLES</c> over its socket when Prometheus scrapes (mysqld_exporter's source, with Strata's names):
/// <c>strata_db_up</c> (1 when the server answered), <c>strata_db_connections</c> (Threads_connected),
/// <c>strata_db_max_connections</c> (max_connections), <c>strata_db_queries_total</c> (Questions: statements clients
/// sent), <c>strata_db_slow_queries_total</c> (Slow_queries) and <c>strata_db_aborted_connections_total</c>
/// (Aborted_connects: failed attempts to connect).
/// </summary>
internal static class MariaDbMetrics
{
    /// <summary>How long a scrape waits for the server; a server that does not answer in time reads as down.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    private const string Query =
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('Threads_connected', 'Questions', 'Slow_queries', 'Aborted_connects');" +
        "SHOW GLOBAL VARIABLES WHERE Variable_name = 'max_connections';";

    public static void Register(NodeMetrics metrics, MariaDbServer server, ReplicationAgent agent)
    {
        var factory = metrics.Factory;
        var primary = factory.CreateGauge("strata_db_primary", "1 while this node is the primary (holds the lease and takes writes), else 0.");
        var sequence = factory.CreateGauge("strata_db_gtid_sequence", "The sequence number of the last transaction this server holds (GTID domain 0).");
        var lag = factory.CreateGauge("strata_db_replica_lag_seconds", "A replica's Seconds_Behind_Master; 0 on the primary.");
        metrics.Registry.AddBeforeCollectCallback(() =>
        {
            var state = agent.State;
            primary.Set(state.Role == Roles.Primary ? 1 : 0);
            sequence.Set(state.Sequence);
            lag.Set(state.LagSeconds ?? 0);
        });
        var up = factory.CreateGauge("strata_db_up", "1 when the server answered this scrape's status query, else 0.");
        var connections = factory.CreateGauge("strata_db_connections", "Client connections the server holds now (Threads_connected).");
        var max = factory.CreateGauge("strata_db_max_connections", "The most client connections the server accepts (max_connections).");
        var queries = factory.CreateCounter("strata_db_queries_total", "Statements clients sent to the server (Questions).");
        var slow = factory.CreateCounter("strata_db_slow_queries_total", "Statements that took longer than long_query_time (Slow_queries).");
        var aborted = factory.CreateCounter("strata_db_aborted_connections_total", "Failed attempts to connect to the server (Aborted_connects).");
        metrics.Registry.AddBeforeCollectCallback(async cancellationToken =>
        {
            var values = await ReadAsync(server, cancellationToken);
            up.Set(values is null ? 0 : 1);
            if (values is null)
            {
                return;
            }

            connections.Set(values.GetValueOrDefault("Threads_connected"));
            max.Set(values.GetValueOrDefault("max_connections"));
            queries.IncTo(values.GetValueOrDefault("Questions"));
            slow.IncTo(values.GetValueOrDefault("Slow_queries"));
            aborted.IncTo(values.GetValueOrDefault("Aborted_connects"));
        });
    }

    /// <summary>The values by name, or null when the server is not running or did not answer in time.</summary>
    private static async Task<Dictionary<string, double>?> ReadAsync(MariaDbServer server, CancellationToken cancellationToken)
    {
        if (!server.IsReady)
        {
            return null;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            await using var connection = await server.OpenAdminAsync(timeout.Token);
            await using var command = new MySqlCommand(Query, connection);
            await using var reader = await command.ExecuteReaderAsync(timeout.Token);
            var values = new Dictionary<string, double>(StringComparer.OrdinalIgnoreCase);
            do
            {
                while (await reader.ReadAsync(timeout.Token))
                {
                    if (double.TryParse(reader.GetString(1), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                    {
                        values[reader.GetString(0)] = value;
                    }
                }
            }
            while (await reader.NextResultAsync(timeout.Token));

            return values;
        }
        catch (Exception e) when (e is MySqlException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }
}
