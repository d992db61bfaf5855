using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Strata.Orchestration.Drill;
using Strata.Orchestration.Status;
using Strata.Topology;

namespace Strata.Orchestration;

/// <summary>
/// <c>strata drill</c> (docs/drill.md): a chaos drill against the running topology. Under a steady mixed load through
/// the VIP (<see cref="DrillLoad"/>) it strikes a node at random of the chosen tiers (<see cref="DrillPlan"/>) with this
/// orchestrator's own <see cref="KillAsync"/> (or, under <c>--netns</c>, <see cref="CutAsync"/>), restores it with
/// <see cref="StartAsync"/> (or <see cref="HealAsync"/>) after a pause, waits until it is back in service, and again
/// until the duration is up; then reads every acknowledged write back (<see cref="DrillReadBack"/>) and reports
/// (<see cref="DrillReport"/>).
/// </summary>
public sealed partial class Orchestrator
{
    /// <summary>
    /// Runs the drill and writes its report to the output and to <c>drill-TIME-seedN.txt</c> and <c>.json</c> in
    /// <see cref="DrillOptions.OutputDirectory"/> (default <c>.strata/drill/</c>). <paramref name="stop"/> (Ctrl+C) ends it
    /// early, once the node struck last is restored.
    /// </summary>
    /// <returns>The report's exit code (0 passed, 1 failed); 2 when the drill is refused before it starts.</returns>
    public async Task<int> DrillAsync(DrillOptions options, CancellationToken stop)
    {
        if (options.Problems() is { Count: > 0 } problems)
        {
            return Refuse(string.Join("; ", problems));
        }

        // The run's layout first (its addresses, the database of 'up --db'), then the tiers in it, then whether it runs.
        var run = ReadRun();
        var tiers = options.Tiers.Count > 0 ? options.Tiers : [.. DrillTiers.All.Where(t => DrillTargets(t).Length > 0)];
        var targets = new List<(string Tier, IReadOnlyList<string> Nodes)>();
        foreach (var tier in tiers)
        {
            if (tier == DrillTiers.Database && !_layout.Database.Managed)
            {
                return Refuse("--tiers db: this topology has no database server that Strata runs (database.nodes, 'strata up --db mysql'); "
                    + "a database outside the topology is not the drill's to kill");
            }

            if (DrillTargets(tier) is { Length: 0 })
            {
                return Refuse($"--tiers {tier}: the topology has no {tier} node");
            }

            targets.Add((tier, [.. DrillTargets(tier).Select(n => n.Name)]));
        }

        if (run is null || RunningNodes().Count == 0)
        {
            return Refuse("not running: a drill strikes a running topology; start it with 'strata up --detach' first");
        }

        if (DrillSiteProblem() is { } siteProblem)
        {
            return Refuse(siteProblem);
        }

        var status = await StatusAsync(stop);
        if (status.Nodes.Where(n => n.State != NodeStates.Ready).Select(n => $"{n.Name} is {n.State}").ToList() is { Count: > 0 } notReady)
        {
            return Refuse($"not every node is ready ({string.Join(", ", notReady)}): a drill starts from a whole topology ('strata start NODE', 'strata ready NODE')");
        }

        return await RunDrillAsync(options, tiers, targets, stop);
    }

    private async Task<int> RunDrillAsync(DrillOptions options, IReadOnlyList<string> tiers, List<(string Tier, IReadOnlyList<string> Nodes)> targets, CancellationToken stop)
    {
        var writeTag = string.Create(CultureInfo.InvariantCulture, $"drill-{options.Seed}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}");
        var startedAt = DateTimeOffset.UtcNow;
        var clock = new DrillClock(TimeProvider.System);
        using var site = new DrillSite(_layout.Vip, "www." + _layout.Zone.Zone, options.Clients, options.RequestTimeout);
        output.WriteLine($"drill: seed {options.Seed} (--seed {options.Seed} strikes the same nodes again), {options.Duration.TotalSeconds:0.#} s, tiers {string.Join(", ", tiers)}"
            + (_netns is null ? "" : ", kills and link cuts"));
        output.WriteLine($"drill: {options.Clients} clients at {options.RatePerClient:0.#} requests/s each through {site.Address}, writes tagged {writeTag}-N");

        // Bounded whatever happens: events start within the duration; the last one's restart and check-in are bounded too.
        var load = new DrillLoad(site, clock, options, writeTag, options.Duration + ReadyTimeout + InRotationTimeout + TimeSpan.FromMinutes(2));
        load.Start();
        var events = new List<DrillEvent>();
        using (var probe = new NodeProbe())
        {
            await DelayAsync(options.WarmUp, stop);
            var plan = new DrillPlan(targets, cuts: _netns is not null, options.Seed);
            while (!stop.IsCancellationRequested && clock.NowMs + options.Pause.TotalMilliseconds < options.Duration.TotalMilliseconds)
            {
                var struck = await StrikeAsync(events.Count + 1, plan.Next(), clock, probe, options.Pause);
                events.Add(struck);
                if (struck.BackAtMs is null)
                {
                    output.WriteLine($"drill: {struck.Victim.Node} is not back in service; no more events");
                    break;
                }

                await DelayAsync(options.Settle, stop);
            }

            // The load runs the whole duration, however early the last event ended.
            await DelayAsync(TimeSpan.FromMilliseconds(Math.Max(0, options.Duration.TotalMilliseconds - clock.NowMs)), stop);
        }

        var (requests, acknowledged) = await load.StopAsync();
        var loadEnd = clock.NowMs;
        output.WriteLine($"[{clock.Stamp}] load stopped; reading back {acknowledged.Count} acknowledged write(s)");
        var verification = await DrillReadBack.VerifyAsync(site, acknowledged, options.RequestTimeout, TimeProvider.System);
        var report = DrillReport.Build(new DrillRecording
        {
            Options = options,
            Tiers = tiers,
            Topology = _layout.SourcePath,
            Vip = _layout.Vip.ToString(),
            StartedAt = startedAt,
            LoadEndMs = loadEnd,
            Requests = requests,
            Events = events,
            Verification = verification,
            OtherFailures = load.OtherFailures,
            VipMoveBound = (3 * _layout.Vrrp.AdvertInterval) + TimeSpan.FromSeconds(1),
            Interrupted = stop.IsCancellationRequested,
        });
        var text = DrillReportText.Format(report);
        output.WriteLine();
        output.Write(text);
        var directory = options.OutputDirectory ?? Path.Combine(_run.Root, "drill");
        Directory.CreateDirectory(directory);
        var name = Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"drill-{startedAt:yyyyMMdd-HHmmss}-seed{options.Seed}"));
        await File.WriteAllTextAsync(name + ".txt", text, CancellationToken.None);
        await File.WriteAllTextAsync(name + ".json", JsonSerializer.Serialize(report, DrillJsonContext.Default.DrillReport) + Environment.NewLine, CancellationToken.None);
        output.WriteLine($"report: {name}.txt, {name}.json");
        return report.Result.ExitCode;
    }

    /// <summary>
    /// One event: strikes <paramref name="victim"/>, waits <paramref name="pause"/>, restores it and waits until it is back
    /// in service. Not cancellable: a node struck is always restored.
    /// </summary>
    private async Task<DrillEvent> StrikeAsync(int number, DrillVictim victim, DrillClock clock, NodeProbe probe, TimeSpan pause)
    {
        var node = _layout.FindNode(victim.Node)!;
        var heldVip = node.Role == NodeRole.LoadBalancer && await probe.VrrpAsync(node, CancellationToken.None) is { Listening: true };
        var cut = victim.Kind == DrillEventKinds.Cut;
        output.WriteLine($"[{clock.Stamp}] #{number} {victim.Kind} {victim.Node}{(heldVip ? " (holding the VIP)" : "")}");
        // A kill takes effect as its signal is sent (KillAsync then waits for the exit); a cut once its 'ip link' has run.
        var at = clock.NowMs;
        var struck = cut ? await CutAsync(victim.Node, from: null) : await KillAsync(victim.Node, () => at = clock.NowMs);
        at = cut ? clock.NowMs : at;
        if (struck != 0)
        {
            return new DrillEvent(number, victim, at, heldVip, null, null, $"could not {victim.Kind} it");
        }

        await Task.Delay(pause, CancellationToken.None);
        var restoredAt = clock.NowMs;
        if ((cut ? await HealAsync(victim.Node) : await StartAsync(victim.Node, CancellationToken.None)) != 0)
        {
            return new DrillEvent(number, victim, at, heldVip, null, null, cut ? "could not heal it" : "could not start it again");
        }

        var problem = await WaitInServiceAsync(node, probe);
        var back = problem is null ? clock.NowMs : (double?)null;
        output.WriteLine(problem is null
            ? $"[{clock.Stamp}] #{number} {victim.Node} back in service {(back!.Value - at) / 1000:0.0} s after the {victim.Kind}"
            : $"[{clock.Stamp}] #{number} {victim.Node}: {problem}");
        return new DrillEvent(number, victim, at, heldVip, restoredAt, back, problem);
    }

    /// <summary>
    /// Waits until the topology serves as before an event on <paramref name="node"/>: for a load balancer the VIP
    /// settled (one master, the one VRRP prefers when preempting), and every web and app node up at every running proxy
    /// in front (an app node is up again only once its database answers). Null when it does, else what is missing.
    /// </summary>
    private async Task<string?> WaitInServiceAsync(NodeSpec node, NodeProbe probe)
    {
        if (node.Role == NodeRole.LoadBalancer && await WaitForVipSettledAsync(probe, DateTime.UtcNow + InRotationTimeout) is { } vip)
        {
            return vip;
        }

        var missing = await WaitAsync([.. _layout.AllWebNodes, .. _layout.AllAppNodes], (state, _) => state == "UP", InRotationTimeout, CancellationToken.None);
        return missing.Count == 0 ? null : $"not up at every proxy in front within {InRotationTimeout.TotalSeconds:0} s: {string.Join(", ", missing)}";
    }

    /// <summary>Waits until one running load balancer is master (with preemption, one of the highest priority) and the VIP is listened on as its mode wants.</summary>
    private async Task<string?> WaitForVipSettledAsync(NodeProbe probe, DateTime deadline)
    {
        var running = RunningNodes().Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        var balancers = _layout.LoadBalancers.Where(n => running.Contains(n.Name)).ToList();
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            var states = await Task.WhenAll(balancers.Select(n => probe.VrrpAsync(n, CancellationToken.None)));
            var masters = states.Where(s => s is { State: "master" }).ToList();
            var settled = states.All(s => s is not null)
                && masters is [{ } master]
                && (_layout.Vrrp.ActiveActive ? states.All(s => s!.Listening) : master.Listening)
                && (!_layout.Vrrp.Preempt || states.All(s => s!.Priority <= master.Priority));
            if (settled)
            {
                return null;
            }

            last = string.Join(", ", balancers.Select((n, i) => $"{n.Name} {states[i]?.State ?? "not answering"}"));
            await Task.Delay(50, CancellationToken.None);
        }

        return $"the VIP did not settle within {InRotationTimeout.TotalSeconds:0} s ({last})";
    }

    /// <summary>The nodes of a drill tier, as the run lays them out.</summary>
    private ImmutableArray<NodeSpec> DrillTargets(string tier) => tier switch
    {
        DrillTiers.LoadBalancers => _layout.LoadBalancers,
        DrillTiers.Web => [.. _layout.AllWebNodes],
        DrillTiers.App => [.. _layout.AllAppNodes],
        DrillTiers.Database => _layout.Database.Nodes,
        _ => [],
    };

    /// <summary>
    /// Why the drill's load may not go to the VIP: it goes only to a loopback address or one inside this run's
    /// namespaces (DESIGN.md, "Safety of tests and benchmarks"), and only over plain HTTP.
    /// </summary>
    private string? DrillSiteProblem()
    {
        var vip = _layout.Vip.Address;
        if (!IPAddress.IsLoopback(vip) && !(_netns is not null && _layout.NetnsSubnet.Contains(vip)))
        {
            return $"the VIP {_layout.Vip} is neither a loopback address nor inside this run's namespaces: a drill sends its load only there";
        }

        return _layout.VipTls is { RedirectHttp: true }
            ? "vip.tls.redirectHttp is on: the VIP redirects every plain-HTTP request, and the drill's load is plain HTTP"
            : null;
    }
}
