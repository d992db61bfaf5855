namespace Strata.Orchestration.Drill;

/// <summary>What <c>strata drill</c> does: for how long, against which tiers, with which load (docs/drill.md).</summary>
public sealed record DrillOptions
{
    /// <summary>The longest <see cref="Duration"/>: the drill is bounded in time, whatever it is asked.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromHours(1);

    /// <summary>How long events are started for [60 s]; the last one's restart and the read-back come after.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Seeds the choice of victims (<see cref="System.Random"/>), so a drill can be repeated event by event.</summary>
    public required int Seed { get; init; }

    /// <summary>The tiers whose nodes may be killed, by <see cref="DrillTiers"/> name; empty for every tier the topology has.</summary>
    public IReadOnlyList<string> Tiers { get; init; } = [];

    /// <summary>Where the report's files go; null for <c>.strata/drill/</c> beside the topology file.</summary>
    public string? OutputDirectory { get; init; }

    /// <summary>Client loops sending requests through the VIP at once [8].</summary>
    public int Clients { get; init; } = 8;

    /// <summary>Requests a second each client loop sends at most [25]: a steady load that leaves the machine room to restart nodes.</summary>
    public double RatePerClient { get; init; } = 25;

    /// <summary>How long one request may take before it counts as a timeout [5 s].</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Load before the first event, so every event has a baseline and the nodes' hot paths are compiled [2 s].</summary>
    public TimeSpan WarmUp { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a victim stays dead (or cut off) before it is started (or healed) again [2 s].</summary>
    public TimeSpan Pause { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Load after a victim is back in service, before the next event: failures then are not excused by it [1 s].</summary>
    public TimeSpan Settle { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Every ground for refusing these options, one line each (not the topology's: the orchestrator checks those).</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        // Room for the warm-up, one pause and a second of load after the restart: at least one event.
        var shortest = WarmUp + Pause + TimeSpan.FromSeconds(1);
        if (Duration < shortest || Duration > MaxDuration)
        {
            problems.Add($"--duration must be {shortest.TotalSeconds:0} to {MaxDuration.TotalSeconds:0} seconds (a warm-up and a pause come before the first restart)");
        }

        if (Clients is < 1 or > 64)
        {
            problems.Add("a drill runs 1 to 64 client loops");
        }

        if (!(RatePerClient > 0 && RatePerClient <= 1000))
        {
            problems.Add("a client loop sends more than 0 and at most 1000 requests a second");
        }

        problems.AddRange(Tiers.Where(t => !DrillTiers.All.Contains(t)).Select(t => DrillTiers.Unknown(t)));
        return problems;
    }
}

/// <summary>The tiers a drill can strike, as <c>--tiers</c> names them (a node's role's short name).</summary>
public static class DrillTiers
{
    /// <summary>The load balancers: the VIP moves when its holder dies.</summary>
    public const string LoadBalancers = "lb";

    /// <summary>The web nodes.</summary>
    public const string Web = "web";

    /// <summary>The app nodes.</summary>
    public const string App = "app";

    /// <summary>The managed database's nodes (<c>database.nodes</c>, <c>strata up --db mysql</c>).</summary>
    public const string Database = "db";

    /// <summary>Every tier, front to back.</summary>
    public static readonly IReadOnlyList<string> All = [LoadBalancers, Web, App, Database];

    /// <summary>
    /// <c>--tiers lb,web,app</c> as tier names, in the order given, each once; null with <paramref name="problem"/> set
    /// when a name is not a tier (the DNS node is not one: the drill's load goes to the VIP's address, not through DNS).
    /// </summary>
    public static IReadOnlyList<string>? Parse(string value, out string? problem)
    {
        var tiers = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(t => t.ToLowerInvariant())
            .Distinct(StringComparer.Ordinal)
            .ToList();
        problem = tiers.Count == 0 ? "--tiers needs at least one tier: " + string.Join(",", All)
            : tiers.FirstOrDefault(t => !All.Contains(t)) is { } unknown ? Unknown(unknown)
            : null;
        return problem is null ? tiers : null;
    }

    internal static string Unknown(string tier) => tier == "dns"
        ? "--tiers: dns is not a drill tier (the load goes to the VIP's address, not through DNS); the tiers: " + string.Join(", ", All)
        : $"--tiers: '{tier}' is not a tier; the tiers: {string.Join(", ", All)}";
}
