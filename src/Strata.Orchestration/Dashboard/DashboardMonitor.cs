using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using Strata.Orchestration.Admin;
using Strata.Orchestration.Processes;
using Strata.Orchestration.Runs;
using Strata.Orchestration.Status;
using Strata.Topology;

namespace Strata.Orchestration.Dashboard;

/// <summary>
/// Looks at the run once a second and keeps the <see cref="DashboardState"/> the page draws. One round of parallel
/// questions to the running nodes' management addresses, each bounded to 800 ms: the process alive and <c>/readyz</c>;
/// a load balancer's <c>/vip</c>; each proxy's <c>/stats?format=json</c>, whose per-server counters give the requests
/// and failures of every web and app node and the traffic of every edge; every node's <c>/metrics</c>, whose request
/// counters and duration histogram give a load balancer's rate and errors and a node's p99. Rates are differences over
/// the last <see cref="Window"/>. It asks nothing of a node that is not running and changes nothing anywhere.
/// </summary>
internal sealed class DashboardMonitor : IAsyncDisposable
{
    /// <summary>How often it looks: about 20 questions to the nodes of the default topology, 1 % of a core here.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>Requests/s, error rates and p99 are over this much time.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(5);

    /// <summary>How far back a node's health history goes.</summary>
    public static readonly TimeSpan HistoryLength = TimeSpan.FromMinutes(10);

    /// <summary>A node slower than this to answer one question is shown as not answering it, this once.</summary>
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromMilliseconds(800);

    /// <summary>
    /// What every HTTP node (load balancer, web, app) says of the requests it answered (docs/observability.md), read by
    /// name whatever the labels: its requests by status class and the histogram its p99 comes from.
    /// </summary>
    private const string ServedRequests = "strata_http_requests_total", DurationHistogram = "strata_http_request_duration_seconds";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly DashboardRun _run;
    private readonly TimeProvider _time;
    private readonly NodeProbe _probe = new(ProbeTimeout);
    private readonly CounterWindow _counters = new(Window);
    private readonly ConcurrentDictionary<Channel<string>, bool> _watchers = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private DashboardState? _state;

    public DashboardMonitor(DashboardRun run, TimeProvider time)
    {
        _run = run;
        _time = time;
    }

    /// <summary>Each node's states over the last <see cref="HistoryLength"/>.</summary>
    public HealthHistory History { get; } = new(HistoryLength);

    /// <summary>The latest state as JSON: what <c>/api/state</c> and each event carry.</summary>
    public string StateJson { get; private set; } = "null";

    /// <summary>The names of the nodes it shows now.</summary>
    public IReadOnlyList<string> NodeNames => _state?.Nodes.Select(n => n.Name).ToList() ?? [];

    /// <summary>Takes the first state, then goes on looking in the background.</summary>
    public async Task StartAsync()
    {
        await TickAsync(_stop.Token);
        _loop = Task.Run(() => LoopAsync(_stop.Token));
    }

    /// <summary>The state now, then each new one, until the page goes away or the dashboard stops.</summary>
    public async IAsyncEnumerable<string> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // A page that falls behind gets the newest state, not a queue of old ones.
        var channel = Channel.CreateBounded<string>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        _watchers[channel] = true;
        try
        {
            yield return StateJson;
            while (await WaitToReadAsync(channel, cancellationToken))
            {
                while (channel.Reader.TryRead(out var json))
                {
                    yield return json;
                }
            }
        }
        finally
        {
            _watchers.TryRemove(channel, out _);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        foreach (var watcher in _watchers.Keys)
        {
            watcher.Writer.TryComplete();
        }

        _probe.Dispose();
        _stop.Dispose();
    }

    private static async Task<bool> WaitToReadAsync(Channel<string> channel, CancellationToken cancellationToken)
    {
        try
        {
            return await channel.Reader.WaitToReadAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task LoopAsync(CancellationToken stop)
    {
        var last = _time.GetTimestamp();
        while (!stop.IsCancellationRequested)
        {
            var wait = Interval - _time.GetElapsedTime(last);
            try
            {
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _time, stop);
                }

                last = _time.GetTimestamp();
                await TickAsync(stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (_state is not null)
            {
                // Whatever failed this once (a file being replaced, a node answering nonsense) is shown, not fatal.
                Publish(_state with { At = _time.GetUtcNow(), Problem = $"the dashboard could not look: {ex.Message}" });
            }
        }
    }

    private async Task TickAsync(CancellationToken stop)
    {
        var (layout, run) = _run.Orchestrator(TextWriter.Null).Running();
        var samples = await Task.WhenAll(layout.AllNodes.Select(node => SampleAsync(node, run, stop)));
        var now = _time.GetUtcNow();
        foreach (var sample in samples)
        {
            Count(sample, now);
        }

        _counters.Prune(now);
        var nodes = samples.Select(sample => View(sample, samples, now)).ToList();
        foreach (var node in nodes)
        {
            History.Record(node.Name, node.State, now);
        }

        History.Prune(now);
        var database = Database(layout, samples);
        Publish(new DashboardState(
            now,
            layout.SourcePath,
            run is not null,
            _run.Problem,
            layout.Zone.Zone,
            VipReport.Of(layout.Vip.ToString(), nodes.Select(n => (n.Name, n.Vrrp))),
            nodes,
            database,
            Edges(layout, samples, database, now),
            new Dictionary<string, int> { ["web"] = layout.WebNodes.Length, ["app"] = layout.AppNodes.Length },
            Orchestrator.MaxTierSize));
    }

    private void Publish(DashboardState state)
    {
        var json = JsonSerializer.Serialize(state, Json);
        _state = state;
        StateJson = json;
        foreach (var watcher in _watchers.Keys)
        {
            watcher.Writer.TryWrite(json);
        }
    }

    /// <summary>What one running node says now; nothing is asked of a node whose process is not running.</summary>
    private async Task<Sample> SampleAsync(NodeSpec node, RunState? run, CancellationToken stop)
    {
        if (run?.Find(node.Name)?.Pid is not { } pid || !NodeProcess.IsRunning(pid, node.Name))
        {
            return new Sample(node, null, false, null, [], null);
        }

        var ready = _probe.IsReadyAsync(node, stop);
        var vrrp = node.Role == NodeRole.LoadBalancer ? _probe.VrrpAsync(node, stop) : Task.FromResult<VrrpStatus?>(null);
        var stats = node.Role is NodeRole.LoadBalancer or NodeRole.Web ? _probe.GetAsync(node, "stats?format=json", stop) : Task.FromResult<string?>(null);
        var metrics = _probe.GetAsync(node, "metrics", stop);
        return new Sample(
            node, pid, await ready, await vrrp, await stats is { } report ? ProxyAdmin.ReadServers(report) : [], await metrics is { } text ? MetricsText.Parse(text) : null);
    }

    private void Count(Sample sample, DateTimeOffset now)
    {
        var name = sample.Node.Name;
        if (sample.Metrics is { } metrics)
        {
            if (metrics.Sum(ServedRequests) is { } requests)
            {
                _counters.Add(name + " requests", requests, now);
            }

            if (metrics.Sum(ServedRequests, "code", "5xx") is { } errors)
            {
                _counters.Add(name + " errors", errors, now);
            }

            foreach (var (bound, count) in metrics.Buckets(DurationHistogram))
            {
                _counters.Add(Bucket(name, bound), count, now);
            }
        }

        foreach (var server in sample.Servers)
        {
            _counters.Add(Pair(name, server.Name) + " requests", server.Requests, now);
            _counters.Add(Pair(name, server.Name) + " failures", server.Failures, now);
        }
    }

    private NodeView View(Sample sample, IReadOnlyList<Sample> all, DateTimeOffset now)
    {
        var node = sample.Node;
        List<ProxyView> seenBy = node.Role is NodeRole.Web or NodeRole.App
            ? [.. all.Where(p => p.Node.Role == ProxyAdmin.FrontOf(node))
                .SelectMany(p => p.Servers.Where(s => s.Name == node.Name).Select(s => new ProxyView(p.Node.Name, s.State, s.Active, s.Check)))]
            : [];
        var state = sample.Pid is null ? NodeStates.Down
            : !sample.Ready ? NodeStates.Starting
            : seenBy.Any(v => v.State == "MAINT") ? "maintenance"
            : seenBy.Any(v => v.State == "DRAIN") ? "draining"
            : NodeStates.Ready;
        return new NodeView(
            node.Name, node.Role.ShortName(), node.Address.ToString(), node.ManagementUrl.ToString(), sample.Pid, state, sample.Vrrp,
            sample.Pid is null ? null : Load(sample, seenBy, now), seenBy);
    }

    /// <summary>
    /// A load balancer's own counters; a web or app node's as the proxies in front count them (what it was sent, whatever
    /// it served it with); another node's from its histogram, when it has one. The p99 is always the node's own.
    /// </summary>
    private LoadView? Load(Sample sample, IReadOnlyList<ProxyView> seenBy, DateTimeOffset now)
    {
        var name = sample.Node.Name;
        var buckets = sample.Metrics?.Buckets(DurationHistogram) ?? [];
        var p99 = MetricsText.Quantile(0.99, [.. buckets.Select(b => (b.Bound, _counters.Delta(Bucket(name, b.Bound), now)))]) * 1000;
        if (sample.Node.Role == NodeRole.LoadBalancer && sample.Metrics is not null)
        {
            return Measured(_counters.Rate(name + " requests", now), _counters.Delta(name + " errors", now), _counters.Delta(name + " requests", now), p99);
        }

        if (seenBy.Count > 0)
        {
            var pairs = seenBy.Select(v => Pair(v.Proxy, name)).ToList();
            return Measured(
                pairs.Sum(p => _counters.Rate(p + " requests", now)),
                pairs.Sum(p => _counters.Delta(p + " failures", now)),
                pairs.Sum(p => _counters.Delta(p + " requests", now)),
                p99);
        }

        return buckets.Count > 0 ? Measured(_counters.Rate(Bucket(name, double.PositiveInfinity), now), 0, 0, p99) : null;
    }

    private static LoadView Measured(double perSecond, double failed, double requests, double? p99) =>
        new(Math.Round(perSecond, 2), requests > 0 ? Math.Round(failed / requests, 4) : null, p99 is { } ms ? Math.Round(ms, 2) : null);

    /// <summary>
    /// Every edge of the topology, drawn whether or not requests flow on it: dns → vip → each load balancer (its request
    /// rate) → each web node → each app node (what the proxy sent it) → the database.
    /// </summary>
    private List<EdgeView> Edges(Topology.Topology layout, IReadOnlyList<Sample> samples, DatabaseView database, DateTimeOffset now)
    {
        var running = samples.Where(s => s.Pid is not null).Select(s => s.Node.Name).ToHashSet(StringComparer.Ordinal);
        return
        [
            new EdgeView(layout.Dns.Name, "vip", null),
            .. layout.LoadBalancers.Select(lb => new EdgeView("vip", lb.Name, Measure(lb, lb.Name + " requests"))),
            .. from lb in layout.LoadBalancers from web in layout.AllWebNodes select new EdgeView(lb.Name, web.Name, Measure(lb, Pair(lb.Name, web.Name) + " requests")),
            .. from web in layout.AllWebNodes from app in layout.AllAppNodes select new EdgeView(web.Name, app.Name, Measure(web, Pair(web.Name, app.Name) + " requests")),
            .. layout.AllAppNodes.Select(app => new EdgeView(app.Name, database.Id, null)),
        ];

        double? Measure(NodeSpec from, string counter) => running.Contains(from.Name) ? Math.Round(_counters.Rate(counter, now), 2) : null;
    }

    /// <summary>The database box; with managed nodes, the primary (from each node's <c>strata_db_primary</c>) is the one the app nodes' edges reach.</summary>
    private static DatabaseView Database(Topology.Topology layout, IReadOnlyList<Sample> samples) => layout.Database switch
    {
        { Managed: true, Nodes: var servers } when samples.FirstOrDefault(s => s.Node.Role == NodeRole.Database && s.Metrics?.Sum("strata_db_primary") == 1) is { } primary
            => new(primary.Node.Name, "mysql", $"primary {primary.Node.Name} on {primary.Node.Address}; replicas: {string.Join(", ", servers.Where(s => s != primary.Node).Select(s => s.Name))}", true),
        { Managed: true, Nodes: var servers } => new(servers[0].Name, "mysql", $"MariaDB servers run by Strata ({string.Join(", ", servers.Select(s => s.Name))}): no primary now", true),
        { Engine: "sqlite" } sqlite => new("database", "sqlite", $"SQLite file {Path.GetRelativePath(Path.GetDirectoryName(layout.SourcePath)!, sqlite.Path)}, opened by every app node", false),
        _ => new("database", "mysql", "MySQL/MariaDB server of database.connectionString", false),
    };

    private static string Pair(string proxy, string server) => $"{proxy}>{server}";

    private static string Bucket(string node, double bound) => $"{node} le {bound.ToString("R", CultureInfo.InvariantCulture)}";

    /// <summary>What one node said in one round; a node that is not running said nothing.</summary>
    private sealed record Sample(NodeSpec Node, int? Pid, bool Ready, VrrpStatus? Vrrp, IReadOnlyList<Admin.ServerView> Servers, MetricsText? Metrics);
}
