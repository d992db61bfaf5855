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
public sealed record NodeStatus(string Name, string Role, string Address, string ManagementUrl, int? Pid, string State);

/// <summary>The VIP in <c>status --json</c>.</summary>
/// <param name="Address">host:port.</param>
/// <param name="Owner">The load balancer listening on it, or null.</param>
public sealed record VipReport(string Address, string? Owner);

/// <summary>The whole <c>status --json</c> document: a stable interface.</summary>
/// <param name="Topology">The topology file.</param>
/// <param name="Running">Whether a run is recorded.</param>
/// <param name="Vip">The VIP and its owner.</param>
/// <param name="Nodes">Every node of the topology.</param>
public sealed record StatusReport(string Topology, bool Running, VipReport Vip, IReadOnlyList<NodeStatus> Nodes);
