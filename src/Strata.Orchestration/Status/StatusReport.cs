namespace Strata.Orchestration.Status;

/// <summary>Node states, as <c>status --json</c> spells them.</summary>
public static class NodeStates
{
    /// <summary>Serving: /readyz answered 200.</summary>
    public const string Ready = "ready";

    /// <summary>The process runs but is not ready yet.</summary>
    public const string Starting = "starting";

    /// <summary>No process.</summary>
    public const string Down = "down";
}

/// <summary>One node in <c>status --json</c>.</summary>
/// <param name="Name">Node name.</param>
/// <param name="Role">dns, lb, web or app.</param>
/// <param name="Address">host:port it serves on.</param>
/// <param name="ManagementUrl">Where /healthz and /readyz answer.</param>
/// <param name="Pid">Its process id, or null when down.</param>
/// <param name="State">One of <see cref="NodeStates"/>.</param>
/// <param name="Vrrp">A running load balancer's VRRP state and priority; null for other nodes.</param>
public sealed record NodeStatus(string Name, string Role, string Address, string ManagementUrl, int? Pid, string State, VrrpStatus? Vrrp = null);

/// <summary>A load balancer's part in the VIP election.</summary>
/// <param name="State">initialize, backup or master.</param>
/// <param name="Priority">The priority it advertises now (lowered while it cannot serve).</param>
/// <param name="Listening">Whether it listens on the VIP.</param>
public sealed record VrrpStatus(string State, int Priority, bool Listening);

/// <summary>The VIP in <c>status --json</c>.</summary>
/// <param name="Address">host:port.</param>
/// <param name="Owner">The load balancer listening on it, or null. Two masters (split brain) show as the first, with both in <see cref="NodeStatus.Vrrp"/>.</param>
public sealed record VipReport(string Address, string? Owner);

/// <summary>The whole <c>status --json</c> document: a stable interface.</summary>
/// <param name="Topology">The topology file.</param>
/// <param name="Running">Whether a run is recorded.</param>
/// <param name="Vip">The VIP and its owner.</param>
/// <param name="Nodes">Every node of the topology.</param>
public sealed record StatusReport(string Topology, bool Running, VipReport Vip, IReadOnlyList<NodeStatus> Nodes);
