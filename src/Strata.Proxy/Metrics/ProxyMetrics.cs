using Prometheus;
using Strata.Proxy.Forwarding;
using Strata.Proxy.Upstreams;

namespace Strata.Proxy.Metrics;

/// <summary>
/// The Prometheus metrics of one forwarding node, in a registry of its own (tests run several nodes in one
/// process, and the static default registry would mix them). Counters on the request path use label children
/// resolved once here, so counting a request is a few interlocked adds; per-server gauges are read from the
/// <see cref="UpstreamPool"/> when Prometheus scrapes, not kept up to date on every request.
/// </summary>
internal sealed class ProxyMetrics : IProxyObserver, IDisposable
{
    /// <summary>Label values of <c>strata_server_admin_state</c>, in <see cref="AdminState"/> order.</summary>
    private static readonly string[] AdminStateNames = ["ready", "drain", "maintenance"];

    private readonly UpstreamPool _pool;
    private readonly Counter.Child _requests;
    private readonly Counter.Child[] _responsesByClass;
    private readonly Histogram.Child _duration;
    private readonly Counter.Child[] _retries;
    private readonly Counter.Child[] _transitionsUp;
    private readonly Counter.Child[] _transitionsDown;

    public ProxyMetrics(UpstreamPool pool)
    {
        _pool = pool;
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        var backend = pool.TierName;
        var members = pool.Members;

        _requests = factory.CreateCounter("strata_requests_total", "Requests forwarded (or answered with an error) by this proxy.", "backend")
            .WithLabels(backend);
        var responses = factory.CreateCounter("strata_responses_total", "Responses sent to clients, by status class.", "backend", "code");
        _responsesByClass = [.. Enumerable.Range(1, 5).Select(c => responses.WithLabels(backend, $"{c}xx"))];
        _duration = factory.CreateHistogram(
            "strata_request_duration_seconds",
            "Time from receiving a request to finishing its response, retries included.",
            ["backend"],
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) })
            .WithLabels(backend);

        var retries = factory.CreateCounter("strata_retries_total", "Requests tried again on another server after this one failed them.", "backend", "server");
        _retries = [.. members.Select(m => retries.WithLabels(backend, m.Name))];
        var transitions = factory.CreateCounter("strata_health_transitions_total", "Health changes of a server, by the state it went to.", "backend", "server", "to");
        _transitionsUp = [.. members.Select(m => transitions.WithLabels(backend, m.Name, "up"))];
        _transitionsDown = [.. members.Select(m => transitions.WithLabels(backend, m.Name, "down"))];

        var up = factory.CreateGauge("strata_server_up", "1 when the server's checks pass, else 0.", "backend", "server");
        var weight = factory.CreateGauge("strata_server_weight", "The server's configured weight (0-256).", "backend", "server");
        var adminState = factory.CreateGauge("strata_server_admin_state", "1 for the server's current admin state, 0 for the others.", "backend", "server", "state");
        var active = factory.CreateGauge("strata_server_active_requests", "Requests in flight to the server.", "backend", "server");
        var serverRequests = factory.CreateCounter("strata_server_requests_total", "Requests sent to the server.", "backend", "server");
        var serverFailures = factory.CreateCounter("strata_server_failures_total", "Requests that failed on the server.", "backend", "server");
        var queue = factory.CreateGauge("strata_backend_queue_length", "Requests waiting for a server with room.", "backend").WithLabels(backend);

        var servers = members.Select(m => (
            Upstream: m,
            Up: up.WithLabels(backend, m.Name),
            Weight: weight.WithLabels(backend, m.Name),
            States: AdminStateNames.Select(s => adminState.WithLabels(backend, m.Name, s)).ToArray(),
            Active: active.WithLabels(backend, m.Name),
            Requests: serverRequests.WithLabels(backend, m.Name),
            Failures: serverFailures.WithLabels(backend, m.Name))).ToArray();

        Registry.AddBeforeCollectCallback(() =>
        {
            queue.Set(_pool.QueueLength);
            foreach (var server in servers)
            {
                var upstream = server.Upstream;
                server.Up.Set(upstream.IsUp ? 1 : 0);
                server.Weight.Set(upstream.Weight);
                server.Active.Set(upstream.ActiveRequests);
                server.Requests.IncTo(upstream.TotalRequests);
                server.Failures.IncTo(upstream.TotalFailures);
                var state = (int)upstream.AdminState;
                for (var i = 0; i < server.States.Length; i++)
                {
                    server.States[i].Set(i == state ? 1 : 0);
                }
            }
        });

        pool.HealthChanged += OnHealthChanged;
    }

    /// <summary>Where this node's metrics live; /metrics exports it.</summary>
    public CollectorRegistry Registry { get; }

    public void RequestCompleted(int status, TimeSpan elapsed)
    {
        _requests.Inc();
        // Kestrel only sends 100-599; clamp anyway so a bad status can never throw on the request path.
        _responsesByClass[Math.Clamp(status / 100, 1, 5) - 1].Inc();
        _duration.Observe(elapsed.TotalSeconds);
    }

    public void Retried(Upstream failed) => _retries[failed.Index].Inc();

    public void Dispose() => _pool.HealthChanged -= OnHealthChanged;

    private void OnHealthChanged(Upstream upstream, bool up) => (up ? _transitionsUp : _transitionsDown)[upstream.Index].Inc();
}
