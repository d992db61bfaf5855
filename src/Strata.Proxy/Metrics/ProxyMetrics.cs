using Prometheus;
using Strata.Hosting.Metrics;
using Strata.Proxy.Forwarding;
using Strata.Proxy.Routing;
using Strata.Proxy.Upstreams;

namespace Strata.Proxy.Metrics;

/// <summary>
/// The Prometheus metrics of one forwarding node, in a registry of its own (tests run several nodes in one
/// process, and the static default registry would mix them). Counters on the request path use label children
/// resolved once here, so counting a request is a few interlocked adds; per-server gauges are read from the
/// pools when Prometheus scrapes, not kept up to date on every request.
/// </summary>
internal sealed class ProxyMetrics : IProxyObserver, IDisposable
{
    /// <summary>Label values of <c>strata_server_admin_state</c>, in <see cref="AdminState"/> order.</summary>
    private static readonly string[] AdminStateNames = ["ready", "drain", "maintenance"];

    private readonly PoolMetrics[] _pools;
    private readonly Counter _rateLimited;
    private readonly ServedRequests? _served;

    /// <param name="backends">The node's pools.</param>
    /// <param name="metrics">The node's metrics.</param>
    /// <param name="served">
    /// Where the node counts the requests it answered, when every one of them goes through this pipeline (a load
    /// balancer); null when the node counts them itself (a web node, which also serves files).
    /// </param>
    public ProxyMetrics(Backends backends, NodeMetrics metrics, ServedRequests? served = null)
    {
        Registry = metrics.Registry;
        var factory = metrics.Factory;
        var families = new Families(factory);
        _served = served;
        _rateLimited = factory.CreateCounter("strata_rate_limited_total", "Requests refused with 429 by a route's limit (a client over its rate).", "route");
        _pools = [.. backends.All.Select(pool => new PoolMetrics(pool, families, Registry))];
    }

    /// <summary>The node's registry; /metrics exports it.</summary>
    public CollectorRegistry Registry { get; }

    public void RequestCompleted(UpstreamPool pool, int status, TimeSpan elapsed)
    {
        _pools[pool.Index].RequestCompleted(status, elapsed);
        _served?.Record(status, elapsed);
    }

    /// <summary>The requests this node has answered since it started (every pool), and those answered with a 5xx.</summary>
    public (long Requests, long ServerErrors) Answered()
    {
        double requests = 0;
        double errors = 0;
        foreach (var pool in _pools)
        {
            requests += pool.Requests;
            errors += pool.ServerErrors;
        }

        return ((long)requests, (long)errors);
    }

    public void Retried(UpstreamPool pool, Upstream failed) => _pools[pool.Index].Retried(failed);

    // A label child looked up per refusal: only over-limit requests pay it, and route names are the topology's few.
    public void RateLimited(string route) => _rateLimited.WithLabels(route).Inc();

    public void Dispose()
    {
        foreach (var pool in _pools)
        {
            pool.Dispose();
        }
    }

    /// <summary>The metric families, each labelled by backend (the pool's name) and, per server, by server.</summary>
    private sealed class Families(MetricFactory factory)
    {
        public readonly Counter Requests = factory.CreateCounter("strata_requests_total", "Requests forwarded (or answered with an error) by this proxy.", "backend");
        public readonly Counter Responses = factory.CreateCounter("strata_responses_total", "Responses sent to clients, by status class.", "backend", "code");
        public readonly Histogram Duration = factory.CreateHistogram(
            "strata_request_duration_seconds",
            "Time from receiving a request to finishing its response, retries included.",
            ["backend"],
            new HistogramConfiguration { Buckets = NodeMetrics.DurationBuckets() });

        public readonly Counter Retries = factory.CreateCounter("strata_retries_total", "Requests tried again on another server after this one failed them.", "backend", "server");
        public readonly Counter Transitions = factory.CreateCounter("strata_health_transitions_total", "Health changes of a server, by the state it went to.", "backend", "server", "to");
        public readonly Gauge Up = factory.CreateGauge("strata_server_up", "1 when the server's checks pass, else 0.", "backend", "server");
        public readonly Gauge Weight = factory.CreateGauge("strata_server_weight", "The server's configured weight (0-256).", "backend", "server");
        public readonly Gauge AdminState = factory.CreateGauge("strata_server_admin_state", "1 for the server's current admin state, 0 for the others.", "backend", "server", "state");
        public readonly Gauge Active = factory.CreateGauge("strata_server_active_requests", "Requests in flight to the server.", "backend", "server");
        public readonly Counter ServerRequests = factory.CreateCounter("strata_server_requests_total", "Requests sent to the server.", "backend", "server");
        public readonly Counter ServerFailures = factory.CreateCounter("strata_server_failures_total", "Requests that failed on the server.", "backend", "server");
        public readonly Gauge Queue = factory.CreateGauge("strata_backend_queue_length", "Requests waiting for a server with room.", "backend");
    }

    /// <summary>One pool's label children, resolved once.</summary>
    private sealed class PoolMetrics : IDisposable
    {
        private readonly UpstreamPool _pool;
        private readonly Counter.Child _requests;
        private readonly Counter.Child[] _responsesByClass;
        private readonly Histogram.Child _duration;
        private readonly Counter.Child[] _retries;
        private readonly Counter.Child[] _transitionsUp;
        private readonly Counter.Child[] _transitionsDown;

        public PoolMetrics(UpstreamPool pool, Families f, CollectorRegistry registry)
        {
            _pool = pool;
            var backend = pool.TierName;
            var members = pool.Members;
            _requests = f.Requests.WithLabels(backend);
            _responsesByClass = [.. NodeMetrics.StatusClasses.Select(c => f.Responses.WithLabels(backend, c))];
            _duration = f.Duration.WithLabels(backend);
            _retries = [.. members.Select(m => f.Retries.WithLabels(backend, m.Name))];
            _transitionsUp = [.. members.Select(m => f.Transitions.WithLabels(backend, m.Name, "up"))];
            _transitionsDown = [.. members.Select(m => f.Transitions.WithLabels(backend, m.Name, "down"))];
            var queue = f.Queue.WithLabels(backend);
            var servers = members.Select(m => (
                Upstream: m,
                Up: f.Up.WithLabels(backend, m.Name),
                Weight: f.Weight.WithLabels(backend, m.Name),
                States: AdminStateNames.Select(s => f.AdminState.WithLabels(backend, m.Name, s)).ToArray(),
                Active: f.Active.WithLabels(backend, m.Name),
                Requests: f.ServerRequests.WithLabels(backend, m.Name),
                Failures: f.ServerFailures.WithLabels(backend, m.Name))).ToArray();

            registry.AddBeforeCollectCallback(() =>
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

        public double Requests => _requests.Value;

        public double ServerErrors => _responsesByClass[4].Value;

        public void RequestCompleted(int status, TimeSpan elapsed)
        {
            _requests.Inc();
            // Kestrel only sends 100-599; clamped anyway so a bad status can never throw on the request path.
            _responsesByClass[NodeMetrics.StatusClass(status)].Inc();
            _duration.Observe(elapsed.TotalSeconds);
        }

        // A server a reload added after start has no series of its own (they are resolved once, here): not counted, never thrown.
        public void Retried(Upstream failed) => Inc(_retries, failed.Index);

        public void Dispose() => _pool.HealthChanged -= OnHealthChanged;

        private static void Inc(Counter.Child[] byServer, int index)
        {
            if ((uint)index < (uint)byServer.Length)
            {
                byServer[index].Inc();
            }
        }

        private void OnHealthChanged(Upstream upstream, bool up) => Inc(up ? _transitionsUp : _transitionsDown, upstream.Index);
    }
}
