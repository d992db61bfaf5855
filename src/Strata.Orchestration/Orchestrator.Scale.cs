using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Strata.Orchestration.Admin;
using Strata.Orchestration.Netns;
using Strata.Orchestration.Processes;
using Strata.Orchestration.Runs;
using Strata.Orchestration.Status;
using Strata.Topology;

namespace Strata.Orchestration;

/// <summary>
/// <c>strata scale TIER=N</c>: a tier grows by nodes on the next free addresses, started and ready before the proxies in
/// front take them (they join as DOWN and are checked in: health checks, slow start), and shrinks from its
/// highest-numbered nodes, taken out of rotation (maintenance: no new requests, persistence cookies redispatched) and
/// emptied of their requests in flight before they stop. The topology file says the new size, its comments kept. Under
/// <c>--netns</c> a new node gets a namespace of its own at its tier's next address (NetnsLayout's blocks: no other node
/// moves), removed with the node.
/// </summary>
public sealed partial class Orchestrator
{
    /// <summary>The tiers <c>scale</c> takes, by their key in the file.</summary>
    public static readonly IReadOnlyList<string> ScalableTiers = ["web", "app"];

    /// <summary>The largest size of a tier.</summary>
    public const int MaxTierSize = 64;

    /// <summary>How long a node taken out may keep requests in flight before it is stopped anyway.</summary>
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How long the proxies in front may take to check a new node in.</summary>
    private static readonly TimeSpan InRotationTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Why <paramref name="tier"/> (lower case) cannot be set to <paramref name="size"/> nodes, or null when it can.</summary>
    public static string? ScaleProblem(string tier, int size) => tier switch
    {
        "db" or "database" => "the database tier has one server until its replication lands (issue 20): it cannot be scaled",
        "dns" => "the DNS tier is one authoritative server: it cannot be scaled",
        "lb" or "loadbalancers" => "the load balancers are the VIP's VRRP pair (their priorities decide who holds it): set them in strata.json",
        _ when !ScalableTiers.Contains(tier) => $"'{tier}' is not a tier that scales; the tiers: {string.Join(", ", ScalableTiers)}",
        _ when size < 1 || size > MaxTierSize => $"{tier}={size}: a tier has 1 to {MaxTierSize} nodes",
        _ => null,
    };

    /// <summary>Sets each tier of <paramref name="sizes"/> to its size; 0 when done, 1 on a failure, 2 when refused.</summary>
    public async Task<int> ScaleAsync(IReadOnlyList<(string Tier, int Size)> sizes, CancellationToken cancellationToken)
    {
        if (ReadRun() is not { } state || RunningNodes().Count == 0)
        {
            return Fail("not running: use 'strata up' to start the topology");
        }

        foreach (var (tier, size) in sizes)
        {
            var nodes = Tier(_file, tier);
            var result = size > nodes.Length
                ? await GrowAsync(tier, nodes, size - nodes.Length, state, cancellationToken)
                : size < nodes.Length
                    ? await ShrinkAsync(tier, nodes[size..], state, cancellationToken)
                    : Say($"{tier}: already {size}");
            if (result != 0)
            {
                return result;
            }

            state = _run.ReadState()!;
        }

        return 0;
    }

    private async Task<int> GrowAsync(string tier, IReadOnlyList<NodeSpec> nodes, int count, RunState state, CancellationToken cancellationToken)
    {
        var added = NextNodes(nodes, count);
        if (added is null)
        {
            return Refuse($"{tier}: no free addresses after {nodes[^1].Address.Address} for {count} more node(s)");
        }

        var entries = added.Select(n => FormattableString.Invariant($$"""{ "name": "{{n.Name}}", "address": "{{n.Address}}", "management": "{{n.Management}}" }""")).ToList();
        if (Rewrite(tier, remove: 0, entries) is { } refusal)
        {
            return Refuse(refusal);
        }

        var started = added.Select(n => _layout.FindNode(n.Name)!).ToList();
        foreach (var node in started)
        {
            if (_netns is not null)
            {
                // Its own namespace on the run's switch, at its tier's next address (NetnsLayout): no other node moves.
                _netns = _netns.With(node.Name);
                state = state with { Netns = _netns };
                _run.WriteState(state);
                await NetnsNetwork.AddNodeAsync(_netns, node, _layout.NetnsSubnet.PrefixLength);
            }

            state = state.With(StartNode(node));
            _run.WriteState(state);
        }

        using (var probe = new NodeProbe())
        {
            if (await WaitReadyAsync(started, state, probe, DateTime.UtcNow + ReadyTimeout, cancellationToken) is { } failure)
            {
                return Fail(failure);
            }
        }

        foreach (var node in started)
        {
            output.WriteLine($"started {node.Name} (pid {state.Find(node.Name)!.Pid}) on {node.Address}, ready");
        }

        // The proxies in front took the new nodes from the file as DOWN; they are in rotation once their checks pass.
        var missing = await WaitAsync(started, (state, active) => state == "UP", InRotationTimeout, cancellationToken);
        if (missing.Count > 0)
        {
            return Fail($"not in rotation within {InRotationTimeout.TotalSeconds:0} s: {string.Join(", ", missing)}");
        }

        output.WriteLine($"{tier}: {nodes.Count + count} node(s), {string.Join(", ", started.Select(n => n.Name))} in rotation");
        return 0;
    }

    private async Task<int> ShrinkAsync(string tier, IReadOnlyList<NodeSpec> removed, RunState state, CancellationToken cancellationToken)
    {
        // Out of rotation first: no new requests, pinned clients sent elsewhere, in-flight ones finish.
        if (AdminToken() is not { } token)
        {
            return Fail("no admin token: none in the topology and no run token");
        }

        using (var admin = new ProxyAdmin(token))
        {
            foreach (var node in removed)
            {
                foreach (var proxy in RunningProxiesInFront(node))
                {
                    var answer = await admin.TellAsync(proxy, node.Name, "maintenance", cancellationToken);
                    if (!answer.Ok)
                    {
                        return Fail(answer.Line);
                    }
                }
            }
        }

        var busy = await WaitAsync(removed, (_, active) => active == 0, DrainTimeout, cancellationToken);
        if (busy.Count > 0)
        {
            output.WriteLine($"still busy after {DrainTimeout.TotalSeconds:0} s, stopped anyway: {string.Join(", ", busy)}");
        }

        if (Rewrite(tier, removed.Count, []) is { } refusal)
        {
            return Refuse(refusal);
        }

        foreach (var node in removed)
        {
            if (state.Find(node.Name) is { } recorded && NodeProcess.IsRunning(recorded.Pid, node.Name))
            {
                NodeProcess.Terminate(recorded.Pid);
                if (!await NodeProcess.WaitForExitAsync([(recorded.Pid, node.Name)], StopTimeout))
                {
                    NodeProcess.Kill(recorded.Pid);
                }
            }

            state = state.Without(node.Name);
            if (_netns is not null)
            {
                await NetnsNetwork.RemoveNodeAsync(_netns, node.Name);
                _netns = _netns.Without(node.Name);
                state = state with { Netns = _netns };
            }

            _run.WriteState(state);
            output.WriteLine($"stopped {node.Name}");
        }

        output.WriteLine($"{tier}: {Tier(_file, tier).Length} node(s)");
        return 0;
    }

    /// <summary>
    /// Writes the tier's new size to the topology file, its comments and layout kept, once the result validates (else
    /// returns why, and the file is left as it was); the running nodes reload it.
    /// </summary>
    private string? Rewrite(string tier, int remove, IReadOnlyList<string> add)
    {
        var path = _written.SourcePath;
        var next = path + ".scale";
        try
        {
            File.WriteAllText(next, TopologyFileEditor.ResizeNodes(File.ReadAllText(path), tier, remove, add));
            var topology = TopologyLoader.Load(next);
            var file = _file.DatabaseChoice is { } database ? ManagedDatabase.Choose(topology, database) : topology;
            var layout = _netns is null ? file : NetnsLayout.Apply(file);
            File.Move(next, path, overwrite: true);
            (_file, _layout) = (file, layout);
            return null;
        }
        catch (Exception ex) when (ex is TopologyException or FormatException or IOException or InvalidOperationException)
        {
            File.Delete(next);
            return $"{Path.GetFileName(path)} not changed: {ex.Message}";
        }
    }

    /// <summary>
    /// Waits until every running proxy in front of each of <paramref name="nodes"/> reports it as <paramref name="done"/>
    /// (its state and requests in flight there); returns the nodes still not done at the deadline.
    /// </summary>
    private async Task<List<string>> WaitAsync(IReadOnlyList<NodeSpec> nodes, Func<string, int, bool> done, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var waiting = nodes.Select(n => n.Name).ToList();
        if (AdminToken() is not { } token)
        {
            return waiting;
        }

        using var admin = new ProxyAdmin(token);
        var deadline = DateTime.UtcNow + timeout;
        while (waiting.Count > 0 && DateTime.UtcNow < deadline && !cancellationToken.IsCancellationRequested)
        {
            foreach (var node in nodes.Where(n => waiting.Contains(n.Name)).ToList())
            {
                var views = await Task.WhenAll(RunningProxiesInFront(node).Select(p => admin.ServerAsync(p, node.Name, cancellationToken)));
                if (views.All(v => v is { } view && done(view.State, view.Active)))
                {
                    waiting.Remove(node.Name);
                }
            }

            if (waiting.Count > 0)
            {
                await Task.Delay(200, CancellationToken.None);
            }
        }

        return waiting;
    }

    private IEnumerable<NodeSpec> RunningProxiesInFront(NodeSpec server)
    {
        var running = RunningNodes().Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        var role = ProxyAdmin.FrontOf(server);
        return _layout.AllNodes.Where(n => n.Role == role && running.Contains(n.Name));
    }

    /// <summary>The admin token of the run: the file's, else the one <c>up</c> made.</summary>
    internal string? AdminToken() => _layout.AdminToken ?? _run.ReadAdminToken();

    /// <summary>The tier's default pool as the file has it.</summary>
    private static System.Collections.Immutable.ImmutableArray<NodeSpec> Tier(Topology.Topology topology, string tier) =>
        tier == "web" ? topology.WebNodes : topology.AppNodes;

    /// <summary>
    /// <paramref name="count"/> nodes after the last of <paramref name="nodes"/>: its name's number counted on
    /// (web-2 → web-3), its IPv4 address counted on past addresses any node uses or that are taken, the same ports.
    /// Null when the addresses run out.
    /// </summary>
    private List<NodeSpec>? NextNodes(IReadOnlyList<NodeSpec> nodes, int count)
    {
        var last = nodes[^1];
        var name = NumberedName().Match(last.Name);
        var prefix = name.Success ? name.Groups[1].Value : last.Name + "-";
        var number = nodes.Select(n => NumberedName().Match(n.Name)).Where(m => m.Success && m.Groups[1].Value == prefix).Select(m => int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Max();
        var used = _file.AllNodes.SelectMany(n => new[] { n.Address.Address, n.Management.Address }).Append(_file.Vip.Address).ToHashSet();
        var address = last.Address.Address.GetAddressBytes();
        var added = new List<NodeSpec>();
        while (added.Count < count)
        {
            if (address.Length != 4 || address[3] == 254)
            {
                return null;
            }

            address[3]++;
            var candidate = new IPAddress(address);
            var at = new IPEndPoint(candidate, last.Address.Port);
            var management = new IPEndPoint(candidate, last.Management.Port);
            if (used.Contains(candidate) || !AddressProbe.IsFree(at) || !AddressProbe.IsFree(management))
            {
                continue;
            }

            added.Add(last with { Name = $"{prefix}{++number}", Address = at, Management = management });
        }

        return added;
    }

    private int Say(string line)
    {
        output.WriteLine(line);
        return 0;
    }

    private int Refuse(string message)
    {
        (error ?? output).WriteLine($"strata: {message}");
        return 2;
    }

    [GeneratedRegex("^(.*?)([0-9]+)$")]
    private static partial Regex NumberedName();
}
