using Strata.Data.Managed;

namespace Strata.Orchestration.Status;

/// <summary>Node states, as <c>status --json</c> spells them.</summary>
public static class NodeStates
{
    /// <summary>Serving: /readyz answered 200.</summary>
    public const string Ready = "ready";

    /// <summary>The process runs but is not ready yet.</summary>
    public const string Starting = "starting";

    /// <summary>A proxy in front was told to send it no new requests (<c>strata drain</c>); in-flight ones finish.</summary>
    public const string Draining = "draining";

    /// <summary>A proxy in front was told to send it no requests at all (<c>strata maint</c>).</summary>
    public const string Maintenance = "maintenance";

    /// <summary>No process.</summary>
    public const string Down = "down";
}

/// <summary>One node in <c>status --json</c>.</summary>
/// <param name="Name">Node name.</param>
/// <param name="Role">dns, lb, web or app.</param>
/// <param name="Address">host:port it serves on.</param>
/// <param name="ManagementUrl">Where /healthz and /readyz answer.</param>
/// <param name="Pid">Its process id, or null when down.</param>
/// <param name="State">One of <see cref="NodeStates"/>: down without a process; else maintenance or draining when a proxy in
/// front has it so; else ready or starting by its own /readyz.</param>
/// <param name="Vrrp">A running load balancer's VRRP state and priority; null for other nodes.</param>
/// <param name="Namespace">Under <c>up --netns</c>: the network namespace it runs in (for <c>ip netns exec</c>).</param>
/// <param name="UptimeSeconds">Whole seconds since its process started; null when down.</param>
/// <param name="RequestsPerSecond">Requests per second over the last ten seconds: sent to a web or app node by the proxies
/// in front of it, answered by a load balancer; null where nothing counts them (DNS, the database server) or nobody answered.</param>
/// <param name="ErrorRate">The part of those requests that failed, 0 to 1 (a web or app node: connection failures, resets,
/// timeouts, 5xx other than 503; a load balancer: its 5xx answers); null with <paramref name="RequestsPerSecond"/>.</param>
/// <param name="SeenBy">For a web or app node, each running proxy in front of it and the state it has it in (UP, DOWN,
/// DRAIN, MAINT); null for other nodes.</param>
/// <param name="Replication">A running database node's part in replication; null for other nodes.</param>
public sealed record NodeStatus(string Name, string Role, string Address, string ManagementUrl, int? Pid, string State, VrrpStatus? Vrrp = null, string? Namespace = null,
    long? UptimeSeconds = null, double? RequestsPerSecond = null, double? ErrorRate = null, IReadOnlyDictionary<string, string>? SeenBy = null,
    ReplicationStatus? Replication = null);

/// <summary>A managed database node's replication, from its <c>/db/state</c> (docs/database.md).</summary>
/// <param name="Role">primary, replica, starting or diverged.</param>
/// <param name="Mode">A primary's: strict (commits wait for a replica's acknowledgement) or alone.</param>
/// <param name="Gtid">Every transaction its server holds (gtid_current_pos).</param>
/// <param name="Following">The primary a replica follows.</param>
/// <param name="LagSeconds">A replica's lag behind it.</param>
/// <param name="Reason">Why it is starting or diverged.</param>
public sealed record ReplicationStatus(string Role, string? Mode, string Gtid, string? Following, double? LagSeconds, string? Reason)
{
    /// <summary>One line: "db-1 primary (strict) at 0-1-42", "db-2 replica of db-1, 0 s behind, at 0-1-42".</summary>
    public string Describe(string node) => Role switch
    {
        Roles.Primary => $"{node} primary ({Mode}) at {Gtid}",
        Roles.Replica => $"{node} replica of {Following}, {(LagSeconds is { } lag ? $"{lag:0} s behind" : "lag unknown")}, at {Gtid}",
        _ => $"{node} {Role}{(Reason is null ? "" : $": {Reason}")}",
    };
}

/// <summary>A load balancer's part in the VIP election.</summary>
/// <param name="State">initialize, backup or master.</param>
/// <param name="Priority">The priority it advertises now (lowered while it cannot serve).</param>
/// <param name="Listening">Whether it listens on the VIP.</param>
public sealed record VrrpStatus(string State, int Priority, bool Listening);

/// <summary>The VIP in <c>status --json</c>.</summary>
/// <param name="Address">host:port.</param>
/// <param name="Owner">The load balancer holding it, or null.</param>
/// <param name="Masters">Every load balancer in the master state: more than one is a split brain (they cannot hear each other).</param>
public sealed record VipReport(string Address, string? Owner, IReadOnlyList<string> Masters)
{
    /// <summary>
    /// The VIP as the load balancers' VRRP states say: held by the master listening on it (in active-active mode every
    /// load balancer listens, and the master is named), else by any load balancer listening; every master listed.
    /// </summary>
    public static VipReport Of(string address, IEnumerable<(string Name, VrrpStatus? Vrrp)> nodes)
    {
        var vrrp = nodes.Where(n => n.Vrrp is not null).ToList();
        var owner = vrrp.Where(n => n.Vrrp is { State: "master", Listening: true }).Concat(vrrp.Where(n => n.Vrrp is { Listening: true }))
            .Select(n => n.Name).FirstOrDefault();
        return new(address, owner, [.. vrrp.Where(n => n.Vrrp is { State: "master" }).Select(n => n.Name)]);
    }
}

/// <summary>The network of <c>up --netns</c> in <c>status --json</c>.</summary>
/// <param name="Subnet">The private subnet.</param>
/// <param name="HostAddress">This host's address on it.</param>
/// <param name="HostLink">The host's one veth into it.</param>
/// <param name="SwitchNamespace">The namespace of the bridge joining the nodes.</param>
public sealed record NetnsReport(string Subnet, string HostAddress, string HostLink, string SwitchNamespace);

/// <summary>The whole <c>status --json</c> document: a stable interface.</summary>
/// <param name="Topology">The topology file.</param>
/// <param name="Running">Whether a run is recorded.</param>
/// <param name="Vip">The VIP and its owner.</param>
/// <param name="Nodes">Every node of the topology.</param>
/// <param name="Netns">Under <c>up --netns</c>, its network; null otherwise.</param>
public sealed record StatusReport(string Topology, bool Running, VipReport Vip, IReadOnlyList<NodeStatus> Nodes, NetnsReport? Netns = null);
