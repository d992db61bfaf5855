using System.Diagnostics.Metrics;
using Prometheus;
using Strata.Hosting.Metrics;

namespace Strata.App.Database;

/// <summary>
/// The app node's database in its /metrics: <c>strata_db_errors_total</c> (requests answered 503 because a database
/// call failed) and, on MySQL, MySqlConnector's connection pool from its "MySqlConnector" meter:
/// <c>strata_db_pool_connections{state="idle"|"used"}</c>, <c>strata_db_pool_max_connections</c>,
/// <c>strata_db_pool_pending_requests</c> (waiting for a connection) and <c>strata_db_pool_timeouts_total</c>.
/// </summary>
/// <remarks>
/// Read with a <see cref="MeterListener"/> of our own rather than prometheus-net's MeterAdapter, which would name the
/// series after the meter (<c>mysqlconnector_db_client_connections_usage</c>) and label them with the pool's
/// connection string; SQLite has no pool, so there are no pool series then. The listener sees every MySqlConnector
/// pool of the process: one, on an app node.
/// </remarks>
internal sealed class DatabaseMetrics : IDisposable
{
    private const string MeterName = "MySqlConnector";

    private readonly Counter _errors;
    private readonly MeterListener? _pool;
    private int _idle;
    private int _used;
    private int _pending;
    private int _timeouts;
    private int _max;

    public DatabaseMetrics(NodeMetrics metrics, bool mysql)
    {
        var factory = metrics.Factory;
        _errors = factory.CreateCounter("strata_db_errors_total", "Requests answered 503 because a database call failed.");
        if (!mysql)
        {
            return;
        }

        var connections = factory.CreateGauge("strata_db_pool_connections", "Connections of the pool, by state: idle or used.", "state");
        var idle = connections.WithLabels("idle");
        var used = connections.WithLabels("used");
        var max = factory.CreateGauge("strata_db_pool_max_connections", "The most connections the pool opens.");
        var pending = factory.CreateGauge("strata_db_pool_pending_requests", "Requests waiting for a connection of the pool.");
        var timeouts = factory.CreateCounter("strata_db_pool_timeouts_total", "Requests that waited for a connection longer than the pool's timeout.");
        _pool = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == MeterName && instrument.Name is Usage or Pending or Timeouts or Max)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _pool.SetMeasurementEventCallback<int>(OnMeasurement);
        _pool.Start();
        metrics.Registry.AddBeforeCollectCallback(() =>
        {
            _pool.RecordObservableInstruments();
            idle.Set(Volatile.Read(ref _idle));
            used.Set(Volatile.Read(ref _used));
            max.Set(Volatile.Read(ref _max));
            pending.Set(Volatile.Read(ref _pending));
            timeouts.IncTo(Volatile.Read(ref _timeouts));
        });
    }

    private const string Usage = "db.client.connections.usage";
    private const string Pending = "db.client.connections.pending_requests";
    private const string Timeouts = "db.client.connections.timeouts";
    private const string Max = "db.client.connections.max";

    /// <summary>A request failed because the database did.</summary>
    public void Failed() => _errors.Inc();

    public void Dispose() => _pool?.Dispose();

    private void OnMeasurement(Instrument instrument, int value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        switch (instrument.Name)
        {
            case Usage:
                // An up-down counter: +1 / -1 as connections move between idle and used.
                Interlocked.Add(ref IsIdle(tags) ? ref _idle : ref _used, value);
                break;
            case Pending:
                Interlocked.Add(ref _pending, value);
                break;
            case Timeouts:
                Interlocked.Add(ref _timeouts, value);
                break;
            case Max:
                Volatile.Write(ref _max, value);
                break;
        }
    }

    private static bool IsIdle(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var (key, value) in tags)
        {
            if (key == "state")
            {
                return value is "idle";
            }
        }

        return false;
    }
}
