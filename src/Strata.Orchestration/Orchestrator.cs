using System.Collections.Immutable;
using Strata.Orchestration.Logs;
using Strata.Orchestration.Netns;
using Strata.Orchestration.Processes;
using Strata.Orchestration.Runs;
using Strata.Orchestration.Status;
using Strata.Topology;

namespace Strata.Orchestration;

/// <summary>
/// Starts, stops and observes the nodes of one topology as processes. It never sits in the request path:
/// the nodes find each other through the topology, elect the VIP owner and check their upstreams themselves.
/// </summary>
/// <param name="topology">The validated topology.</param>
/// <param name="nodeCommand">The command line that runs one node (the executable first).</param>
/// <param name="output">Where progress and results are written.</param>
/// <param name="error">Where failures are written (standard error); <paramref name="output"/> when null.</param>
public sealed partial class Orchestrator(
    Topology.Topology topology, Func<NodeSpec, IReadOnlyList<string>> nodeCommand, TextWriter output, TextWriter? error = null)
{
    /// <summary>How long <c>up</c> waits for every node to be ready.</summary>
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How often a foreground <c>up</c> reads the run file and checks its nodes.</summary>
    private static readonly TimeSpan WatchInterval = TimeSpan.FromMilliseconds(500);

    private readonly RunDirectory _run = new(topology.SourcePath);

    /// <summary>The topology as the file says.</summary>
    private readonly Topology.Topology _written = topology;

    /// <summary>The file's, with the database <c>up --db</c> chose (<see cref="ManagedDatabase.Choose"/>).</summary>
    private Topology.Topology _file = topology;

    private Topology.Topology _layout = topology;

    /// <summary>The namespaces of a --netns run, or null.</summary>
    private NetnsRun? _netns;

    /// <summary>Back to front, so each tier finds the one behind it ready: the database server, app, web, load balancers, DNS.</summary>
    private ImmutableArray<ImmutableArray<NodeSpec>> StartOrder =>
        _layout.Database.Managed
            ? [_layout.Database.Nodes, [.. _layout.AllAppNodes], [.. _layout.AllWebNodes], _layout.LoadBalancers, [_layout.Dns]]
            : [[.. _layout.AllAppNodes], [.. _layout.AllWebNodes], _layout.LoadBalancers, [_layout.Dns]];

    /// <summary>
    /// Starts every node and waits until all are ready; with <paramref name="netns"/> each in a network namespace
    /// of its own (<see cref="NetnsNetwork"/>); with <paramref name="database"/> ("sqlite" or "mysql") on that
    /// database whatever the file says (recorded, so every later command and node agrees). With
    /// <paramref name="detach"/> it returns then; otherwise it reports nodes that exit and stops everything when
    /// <paramref name="stop"/> fires.
    /// </summary>
    /// <returns>0 when everything became ready (and, in the foreground, was stopped again); 1 otherwise.</returns>
    public async Task<int> UpAsync(bool detach, CancellationToken stop, bool netns = false, string? database = null)
    {
        if (RunningNodes() is { Count: > 0 } running)
        {
            return Fail($"already running ({string.Join(", ", running.Select(n => $"{n.Name} pid {n.Pid}"))}); run 'strata down' first");
        }

        if (ReadRun()?.Netns is not null)
        {
            // Nothing runs, but the namespaces of an earlier --netns run are still there.
            await DownAsync(quiet: true);
        }

        _netns = null;
        _file = database is null ? _written : ManagedDatabase.Choose(_written, database);
        _layout = _file;
        if (netns)
        {
            Topology.Topology layout;
            try
            {
                layout = NetnsLayout.Apply(_file);
            }
            catch (InvalidOperationException ex)
            {
                return Fail(ex.Message + "; nothing started");
            }

            var run = NetnsRun.For(_run.Root, _file);
            if (await NetnsNetwork.CheckAsync(run, layout) is { } problem)
            {
                return Fail(problem + "; nothing started");
            }

            UseNetns(run);
        }
        else
        {
            var taken = TakenAddresses();
            if (taken.Count > 0)
            {
                return Fail("address already in use, nothing started: " + string.Join("; ", taken));
            }
        }

        if (_file.VipTls is { Generate: true } generated && MakeLocalCertificate(generated) is { } certificateProblem)
        {
            return Fail(certificateProblem + "; nothing started");
        }

        var state = new RunState(_layout.SourcePath, [], _netns, _file.DatabaseChoice);
        _run.WriteState(state);
        if (_layout.AdminToken is null)
        {
            // A token per run, so the admin API is on (and the CLI can use it) without a secret in strata.json.
            _run.CreateAdminToken();
        }

        if (_netns is not null)
        {
            try
            {
                await NetnsNetwork.CreateAsync(_netns, _layout);
                output.WriteLine($"network {_layout.NetnsSubnet}: a namespace per node on a bridge in {_netns.SwitchNamespace}; this host reaches it through {_netns.HostLink} ({NetnsLayout.HostAddress(_layout.NetnsSubnet)})");
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
            {
                await DownAsync(quiet: true);
                return Fail($"up failed, everything removed again: {ex.Message}");
            }
        }

        using var probe = new NodeProbe();
        var deadline = DateTime.UtcNow + ReadyTimeout;
        foreach (var tier in StartOrder)
        {
            foreach (var node in tier)
            {
                state = state.With(StartNode(node));
                _run.WriteState(state);
            }

            var failure = await WaitReadyAsync(tier, state, probe, deadline, stop);
            if (failure is null && tier.Any(n => n.Role == NodeRole.LoadBalancer))
            {
                failure = await WaitForVipOwnerAsync(probe, deadline, stop);
            }

            if (failure is not null)
            {
                await DownAsync(quiet: true);
                return Fail($"up failed, everything stopped again: {failure}");
            }
        }

        output.WriteLine($"all {state.Nodes.Count} nodes ready");
        output.Write(StatusText.Format(await StatusAsync(CancellationToken.None)));
        await using var dashboard = await StartDashboardAsync(detach);
        if (detach)
        {
            return 0;
        }

        output.WriteLine("Press Ctrl+C to stop.");
        return await WatchAsync(state, stop) ? 0 : await DownAsync(quiet: false);
    }

    /// <summary>Stops every recorded node (SIGTERM, then SIGKILL after 10 s) front to back and forgets the run.</summary>
    public async Task<int> DownAsync(bool quiet = false)
    {
        var state = ReadRun();
        if (state is null)
        {
            _run.DeleteAdminToken();
            // The names are derived from the run folder: namespaces a lost run file no longer lists are found anyway.
            var orphan = NetnsRun.For(_run.Root, _file);
            if (await NetnsNetwork.ExistsAsync(orphan))
            {
                var left = await NetnsNetwork.DeleteAsync(orphan);
                output.WriteLine($"not running; removed the network namespaces {orphan.Prefix}-* left by an earlier run");
                return left.Count == 0 ? 0 : Fail("could not remove: " + string.Join("; ", left));
            }

            output.WriteLine("not running: nothing to stop");
            return 0;
        }

        await StopDashboardAsync(state);
        // A foreground 'up' watching the run reads this: the nodes are meant to exit.
        _run.WriteState(state with { Stopping = true });
        var running = RunningNodes();
        var order = StartOrder.Reverse().SelectMany(t => t).Select(n => n.Name).ToList();
        foreach (var node in running.OrderBy(n => order.IndexOf(n.Name)))
        {
            NodeProcess.Terminate(node.Pid);
        }

        var targets = running.Select(n => (n.Pid, n.Name)).ToList();
        if (!await NodeProcess.WaitForExitAsync(targets, StopTimeout))
        {
            foreach (var (pid, name) in targets.Where(t => NodeProcess.IsRunning(t.Pid, t.Name)))
            {
                output.WriteLine($"{name} (pid {pid}) did not stop within {StopTimeout.TotalSeconds:0} s: killing it");
                NodeProcess.Kill(pid);
            }

            await NodeProcess.WaitForExitAsync(targets, TimeSpan.FromSeconds(5));
        }

        var failed = state.Netns is { } netns ? await NetnsNetwork.DeleteAsync(netns) : [];
        _run.DeleteState();
        _run.DeleteAdminToken();
        if (!quiet)
        {
            output.WriteLine($"stopped {running.Count} node(s)" + (state.Netns is null ? "" : " and removed the network namespaces"));
        }

        if (failed.Count > 0)
        {
            return Fail("could not remove: " + string.Join("; ", failed));
        }

        return 0;
    }

    /// <summary>
    /// The state of every node of the topology and the VIP owner, asked of the nodes themselves, and each node's traffic
    /// as the proxies in front of it see it (<see cref="NodeTraffic"/>); every node and proxy is asked at once.
    /// </summary>
    public async Task<StatusReport> StatusAsync(CancellationToken cancellationToken)
    {
        var state = ReadRun();
        using var probe = new NodeProbe();
        var nodes = _layout.AllNodes.Select(node =>
        {
            var pid = state?.Find(node.Name)?.Pid;
            return (Spec: node, Pid: pid is { } p && NodeProcess.IsRunning(p, node.Name) ? pid : null);
        }).ToList();
        var proxies = Task.WhenAll(nodes
            .Where(n => n.Pid is not null && n.Spec.Role is NodeRole.LoadBalancer or NodeRole.Web)
            .Select(n => probe.StatsAsync(n.Spec, cancellationToken)));
        var probes = Task.WhenAll(nodes.Select(async n => n.Pid is null
            ? (Ready: false, Vrrp: (VrrpStatus?)null, Replication: (ReplicationStatus?)null)
            : (Ready: await probe.IsReadyAsync(n.Spec, cancellationToken),
                Vrrp: n.Spec.Role == NodeRole.LoadBalancer ? await probe.VrrpAsync(n.Spec, cancellationToken) : null,
                Replication: n.Spec.Role == NodeRole.Database ? await probe.ReplicationAsync(n.Spec, cancellationToken) : null)));
        var seen = (await proxies).OfType<ProxyStats>().ToList();
        var answers = await probes;
        var statuses = nodes.Select((n, i) =>
        {
            var (node, pid) = n;
            var traffic = pid is null ? null : NodeTraffic.Of(node, seen);
            var nodeState = pid is null ? NodeStates.Down
                : traffic?.AdminState ?? (answers[i].Ready ? NodeStates.Ready : NodeStates.Starting);
            return new NodeStatus(
                node.Name, node.Role.ShortName(), node.Address.ToString(), node.ManagementUrl.ToString(), pid, nodeState, answers[i].Vrrp,
                _netns?.Namespace(node.Name),
                pid is { } running && NodeProcess.Uptime(running) is { } uptime ? (long)uptime.TotalSeconds : null,
                traffic?.RequestsPerSecond,
                traffic?.ErrorRate,
                traffic?.SeenBy,
                answers[i].Replication);
        }).ToList();

        var netns = _netns is null ? null
            : new NetnsReport(_netns.Subnet, NetnsLayout.HostAddress(_layout.NetnsSubnet).ToString(), _netns.HostLink, _netns.SwitchNamespace);
        return new StatusReport(_layout.SourcePath, state is not null, VipReport.Of(_layout.Vip.ToString(), statuses.Select(s => (s.Name, s.Vrrp))), statuses, netns);
    }

    /// <summary>The names of the topology's nodes as it runs: with the database server of 'up --db mysql'.</summary>
    public IReadOnlyList<string> NodeNames()
    {
        ReadRun();
        return [.. _layout.AllNodes.Select(n => n.Name)];
    }

    /// <summary>SIGKILLs one node, as a crash would. Nothing restarts it: <c>start</c> does.</summary>
    /// <param name="name">The node.</param>
    /// <param name="killing">Called just before the signal is sent (the drill's clock reads the moment of the crash).</param>
    public async Task<int> KillAsync(string name, Action? killing = null)
    {
        var node = ReadRun()?.Find(name);
        if (node is null || !NodeProcess.IsRunning(node.Pid, name))
        {
            return Fail($"{name} is not running");
        }

        killing?.Invoke();
        NodeProcess.Kill(node.Pid);
        await NodeProcess.WaitForExitAsync([(node.Pid, name)], TimeSpan.FromSeconds(5));
        output.WriteLine($"killed {name} (pid {node.Pid})");
        return 0;
    }

    /// <summary>
    /// Sends SIGUSR1 to every running node, which reopens its log files (its own log, a web node's access log, a load
    /// balancer's request log): what logrotate's <c>postrotate</c> runs, as <c>nginx -s reopen</c>.
    /// </summary>
    public int ReopenLogs()
    {
        if (ReadRun() is not { } run)
        {
            return Fail("no topology is running here");
        }

        var signalled = run.Nodes.Where(n => NodeProcess.IsRunning(n.Pid, n.Name)).ToList();
        foreach (var node in signalled)
        {
            NodeProcess.ReopenLogs(node.Pid);
        }

        output.WriteLine($"asked {signalled.Count} node(s) to reopen their log files: {string.Join(", ", signalled.Select(n => n.Name))}");
        return 0;
    }

    /// <summary>
    /// Prints the last <paramref name="lines"/> lines of a node's own log (<c>.strata/logs/NODE.log</c>, kept after
    /// <c>down</c>); with <paramref name="follow"/>, then what it writes next, across log rotations, until
    /// <paramref name="stop"/> (Ctrl+C).
    /// </summary>
    /// <returns>0; 1 when the node has no log and <paramref name="follow"/> is off.</returns>
    public async Task<int> LogsAsync(string name, int lines, bool follow, CancellationToken stop)
    {
        var path = ReadRun()?.Find(name)?.LogPath ?? _run.LogPath(name);
        var end = 0L;
        if (File.Exists(path))
        {
            (var text, end) = NodeLog.LastLines(path, lines);
            output.Write(text);
            output.Flush();
        }
        else if (follow)
        {
            (error ?? output).WriteLine($"strata: {path} does not exist yet; waiting for {name} to write it");
        }
        else
        {
            return Fail($"{name} has no log yet ({path}): it has not run here");
        }

        if (follow)
        {
            await NodeLog.FollowAsync(path, end, output, stop);
        }

        return 0;
    }

    /// <summary>
    /// A --netns drill. Without <paramref name="from"/>: <paramref name="name"/>'s link goes down (the host is cut
    /// off). With it: only the link between the two is cut (their switch ports isolated), so both stay reachable
    /// from this host; for two load balancers, a split brain.
    /// </summary>
    public async Task<int> CutAsync(string name, string? from)
    {
        if (ReadRun() is null || _netns is null)
        {
            return Fail("cut needs a running 'strata up --netns'");
        }

        if (from is null)
        {
            await NetnsNetwork.SetLinkAsync(_netns, name, up: false);
            output.WriteLine($"{name}'s link is down: it reaches nobody and nobody reaches it; 'strata heal {name}' brings it back");
            return 0;
        }

        await NetnsNetwork.SetIsolatedAsync(_netns, name, isolated: true);
        await NetnsNetwork.SetIsolatedAsync(_netns, from, isolated: true);
        output.WriteLine($"{name} and {from} cannot reach each other (both still reach the rest); 'strata heal {name}' reconnects them");
        return 0;
    }

    /// <summary>Undoes every <see cref="CutAsync"/> of <paramref name="name"/>: its link up, its switch port no longer isolated.</summary>
    public async Task<int> HealAsync(string name)
    {
        if (ReadRun() is null || _netns is null)
        {
            return Fail("heal needs a running 'strata up --netns'");
        }

        await NetnsNetwork.SetLinkAsync(_netns, name, up: true);
        await NetnsNetwork.SetIsolatedAsync(_netns, name, isolated: false);
        output.WriteLine($"{name} is connected again");
        return 0;
    }

    /// <summary>Starts one node of a running topology again and waits until it is ready.</summary>
    public async Task<int> StartAsync(string name, CancellationToken cancellationToken)
    {
        var state = ReadRun();
        var spec = _layout.FindNode(name) ?? throw new ArgumentException($"no node named {name}", nameof(name));
        if (state is null)
        {
            return Fail("not running: use 'strata up' to start the topology");
        }

        if (state.Find(name) is { } recorded && NodeProcess.IsRunning(recorded.Pid, name))
        {
            return Fail($"{name} is already running (pid {recorded.Pid})");
        }

        state = state.With(StartNode(spec));
        _run.WriteState(state);
        using var probe = new NodeProbe();
        var failure = await WaitReadyAsync([spec], state, probe, DateTime.UtcNow + ReadyTimeout, cancellationToken);
        if (failure is not null)
        {
            return Fail(failure);
        }

        output.WriteLine($"started {name} (pid {state.Find(name)!.Pid}), ready");
        return 0;
    }

    private RunNode StartNode(NodeSpec node)
    {
        var log = _run.LogPath(node.Name);
        IReadOnlyList<string> command = _file.DatabaseChoice is { } database ? [.. nodeCommand(node), "--db", database] : nodeCommand(node);
        if (_netns is not null)
        {
            command = ["ip", "netns", "exec", _netns.Namespace(node.Name), .. command, "--netns"];
        }

        var pid = NodeProcess.Start(command, log, NodeEnvironment());
        return new RunNode(node.Name, pid, log);
    }

    /// <summary>The run's admin token for the node, when strata.json has none (a token in the file wins anyway).</summary>
    private Dictionary<string, string>? NodeEnvironment() =>
        _layout.AdminToken is null && _run.ReadAdminToken() is { } token
            ? new() { [AdminOptions.TokenEnvironmentVariable] = token }
            : null;

    /// <summary>The recorded run; a --netns run switches this orchestrator to the layout's addresses, an 'up --db' to its database.</summary>
    private RunState? ReadRun()
    {
        var state = _run.ReadState();
        if (state?.Database is { } database && _file.DatabaseChoice != database)
        {
            _file = ManagedDatabase.Choose(_file, database);
            _layout = _file;
        }

        if (state?.Netns is { } netns)
        {
            UseNetns(netns);
        }

        return state;
    }

    private void UseNetns(NetnsRun netns)
    {
        _netns = netns;
        _layout = NetnsLayout.Apply(_file);
    }

    private List<RunNode> RunningNodes() =>
        ReadRun()?.Nodes.Where(n => NodeProcess.IsRunning(n.Pid, n.Name)).ToList() ?? [];

    private List<string> TakenAddresses()
    {
        var taken = new List<string>();
        if (!AddressProbe.IsFree(_layout.Vip))
        {
            taken.Add($"VIP {_layout.Vip}");
        }

        if (_layout.VipTls is { } tls && new System.Net.IPEndPoint(_layout.Vip.Address, tls.Port) is var https && !AddressProbe.IsFree(https))
        {
            taken.Add($"VIP HTTPS {https}");
        }

        foreach (var node in _layout.AllNodes)
        {
            if (!AddressProbe.IsFree(node.Address, udpToo: node.Role == NodeRole.Dns))
            {
                taken.Add($"{node.Name} {node.Address}");
            }

            if (!node.Management.Equals(node.Address) && !AddressProbe.IsFree(node.Management))
            {
                taken.Add($"{node.Name} management {node.Management}");
            }
        }

        return taken;
    }

    /// <summary>
    /// What a foreground <c>up</c> does once every node is ready: it follows the run file, so a node another command
    /// starts (<c>strata start</c>, <c>strata scale</c>) is watched as well as those it started, and reports each node
    /// that starts, becomes ready, exits or leaves the run, until <paramref name="stop"/> (Ctrl+C) or until
    /// <c>strata down</c> from another terminal stops the run.
    /// </summary>
    /// <returns>True when <c>strata down</c> stopped the run (nothing left to stop); false on <paramref name="stop"/>.</returns>
    private async Task<bool> WatchAsync(RunState started, CancellationToken stop)
    {
        var watched = started.Nodes.ToDictionary(n => n.Name, n => n.Pid, StringComparer.Ordinal);
        var exited = new HashSet<(string Name, int Pid)>();
        // Noticed starting, not ready yet: their command line may still be the shell's, so only their exit is checked.
        var starting = new Dictionary<string, int>(StringComparer.Ordinal);
        using var probe = new NodeProbe();
        while (!stop.IsCancellationRequested)
        {
            if (ReadRun() is not { Stopping: false } run)
            {
                output.WriteLine("'strata down' is stopping the run from another terminal");
                return await WaitForDownAsync(stop);
            }

            foreach (var node in run.Nodes)
            {
                if (!watched.TryGetValue(node.Name, out var pid) || pid != node.Pid)
                {
                    watched[node.Name] = node.Pid;
                    starting[node.Name] = node.Pid;
                    output.WriteLine($"{node.Name} started (pid {node.Pid})");
                }
                else if (!exited.Contains((node.Name, pid))
                    && (starting.ContainsKey(node.Name) ? NodeProcess.HasExited(pid) : !NodeProcess.IsRunning(pid, node.Name)))
                {
                    exited.Add((node.Name, pid));
                    starting.Remove(node.Name);
                    output.WriteLine($"{node.Name} (pid {pid}) exited; 'strata start {node.Name}' starts it again");
                }
            }

            foreach (var name in watched.Keys.Except(run.Nodes.Select(n => n.Name)).ToList())
            {
                watched.Remove(name);
                starting.Remove(name);
                output.WriteLine($"{name} left the run");
            }

            foreach (var (name, pid) in starting.ToList())
            {
                if (_layout.FindNode(name) is { } spec && await probe.IsReadyAsync(spec, CancellationToken.None))
                {
                    starting.Remove(name);
                    output.WriteLine($"{name} (pid {pid}) ready");
                }
            }

            await DelayAsync(WatchInterval, stop);
        }

        return false;
    }

    /// <summary>Waits, bounded, until the other terminal's <c>down</c> has stopped everything and removed the run file.</summary>
    private async Task<bool> WaitForDownAsync(CancellationToken stop)
    {
        // Down's own bound: SIGTERM, SIGKILL after StopTimeout, 5 s more; then the namespaces of a --netns run.
        var deadline = DateTime.UtcNow + StopTimeout + TimeSpan.FromSeconds(20);
        while (_run.ReadState() is not null && DateTime.UtcNow < deadline && !stop.IsCancellationRequested)
        {
            await DelayAsync(WatchInterval, stop);
        }

        if (_run.ReadState() is not null)
        {
            // Interrupted, or that down is stuck: this up's own down finishes the job.
            return false;
        }

        output.WriteLine("stopped by 'strata down'");
        return true;
    }

    private static async Task DelayAsync(TimeSpan delay, CancellationToken stop)
    {
        try
        {
            await Task.Delay(delay, stop);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private int Fail(string message)
    {
        (error ?? output).WriteLine($"strata: {message}");
        return 1;
    }
}
