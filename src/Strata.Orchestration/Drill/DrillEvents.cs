namespace Strata.Orchestration.Drill;

/// <summary>What an event does to its victim.</summary>
public static class DrillEventKinds
{
    /// <summary>SIGKILL by the recorded PID (<c>strata kill</c>), then <c>strata start</c>.</summary>
    public const string Kill = "kill";

    /// <summary>Under <c>--netns</c>: the node's link down (<c>strata cut</c>), then <c>strata heal</c>; the process lives on.</summary>
    public const string Cut = "cut";
}

/// <summary>One event's target: a node of a tier, and what happens to it.</summary>
/// <param name="Tier">A <see cref="DrillTiers"/> name.</param>
/// <param name="Node">The node's name.</param>
/// <param name="Kind">A <see cref="DrillEventKinds"/> name.</param>
public sealed record DrillVictim(string Tier, string Node, string Kind);

/// <summary>
/// The sequence of victims: a tier at random among the drill's, then a node at random in it, then (when cuts are
/// possible) a kill or a cut at random, all from one <see cref="Random"/> of the seed, so the same seed on the same
/// topology strikes the same nodes in the same order.
/// </summary>
/// <param name="tiers">Each tier with its nodes, none empty.</param>
/// <param name="cuts">Whether link cuts are chosen besides kills (under <c>--netns</c>).</param>
/// <param name="seed">The drill's seed.</param>
internal sealed class DrillPlan(IReadOnlyList<(string Tier, IReadOnlyList<string> Nodes)> tiers, bool cuts, int seed)
{
    private readonly Random _random = new(seed);

    public DrillVictim Next()
    {
        var (tier, nodes) = tiers[_random.Next(tiers.Count)];
        var node = nodes[_random.Next(nodes.Count)];
        var kind = cuts && _random.Next(2) == 1 ? DrillEventKinds.Cut : DrillEventKinds.Kill;
        return new DrillVictim(tier, node, kind);
    }
}

/// <summary>One event as it happened (times in milliseconds since the load began).</summary>
/// <param name="Number">1, 2, ... in order.</param>
/// <param name="Victim">What was struck.</param>
/// <param name="AtMs">When the kill (or cut) was done.</param>
/// <param name="HeldVip">A load balancer listening on the VIP when struck (the VIP's holder, or any of them in active-active).</param>
/// <param name="RestoredAtMs">When it was started (or healed) again; null when it could not be.</param>
/// <param name="BackAtMs">When it was back in service: ready, every web and app node up at every proxy in front, the VIP
/// settled on the load balancer VRRP chooses; null when that did not happen within the orchestrator's bounds.</param>
/// <param name="Problem">What went wrong with the event itself, or null.</param>
public sealed record DrillEvent(int Number, DrillVictim Victim, double AtMs, bool HeldVip, double? RestoredAtMs, double? BackAtMs, string? Problem = null);
