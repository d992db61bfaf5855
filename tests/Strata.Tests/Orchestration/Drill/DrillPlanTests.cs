using Strata.Orchestration.Drill;

namespace Strata.Tests.Orchestration.Drill;

/// <summary>The victims' sequence (<see cref="DrillPlan"/>) and the drill's options.</summary>
public sealed class DrillPlanTests
{
    private static readonly List<(string Tier, IReadOnlyList<string> Nodes)> Tiers =
        [("lb", ["lb-1", "lb-2"]), ("web", ["web-1", "web-2", "web-3"]), ("app", ["app-1"])];

    [Fact]
    public void Next_SameSeed_SameVictimsInTheSameOrder()
    {
        var first = Draw(new DrillPlan(Tiers, cuts: true, seed: 42), 50);
        var again = Draw(new DrillPlan(Tiers, cuts: true, seed: 42), 50);
        var other = Draw(new DrillPlan(Tiers, cuts: true, seed: 43), 50);

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public void Next_ManyDraws_EveryNodeOfEveryTierKillsOnlyWithoutCuts()
    {
        var victims = Draw(new DrillPlan(Tiers, cuts: false, seed: 1), 300);

        Assert.Equal(Tiers.SelectMany(t => t.Nodes).Order(), victims.Select(v => v.Node).Distinct().Order());
        Assert.All(victims, v => Assert.Equal(DrillEventKinds.Kill, v.Kind));
        Assert.All(victims, v => Assert.Contains(v.Node, Tiers.Single(t => t.Tier == v.Tier).Nodes));
    }

    [Fact]
    public void Next_WithCuts_KillsAndCuts()
    {
        var kinds = Draw(new DrillPlan(Tiers, cuts: true, seed: 1), 100).Select(v => v.Kind).Distinct().Order();

        Assert.Equal([DrillEventKinds.Cut, DrillEventKinds.Kill], kinds);
    }

    [Theory]
    [InlineData("lb,web,app", new[] { "lb", "web", "app" })]
    [InlineData(" DB , lb,lb ", new[] { "db", "lb" })]
    public void ParseTiers_Names_InOrderOnce(string value, string[] expected)
    {
        Assert.Equal(expected, DrillTiers.Parse(value, out var problem));
        Assert.Null(problem);
    }

    [Theory]
    [InlineData("dns", "--tiers: dns is not a drill tier (the load goes to the VIP's address, not through DNS); the tiers: lb, web, app, db")]
    [InlineData("web,cache", "--tiers: 'cache' is not a tier; the tiers: lb, web, app, db")]
    [InlineData(",", "--tiers needs at least one tier: lb,web,app,db")]
    public void ParseTiers_NotATier_RefusedSayingWhich(string value, string expected)
    {
        Assert.Null(DrillTiers.Parse(value, out var problem));
        Assert.Equal(expected, problem);
    }

    [Fact]
    public void Problems_DurationClientsRate_EachNamed()
    {
        Assert.Empty(new DrillOptions { Seed = 1 }.Problems());
        Assert.Equal(
            ["--duration must be 5 to 3600 seconds (a warm-up and a pause come before the first restart)", "a drill runs 1 to 64 client loops", "a client loop sends more than 0 and at most 1000 requests a second"],
            new DrillOptions { Seed = 1, Duration = TimeSpan.FromSeconds(4), Clients = 0, RatePerClient = 0 }.Problems());
        Assert.Single(new DrillOptions { Seed = 1, Duration = TimeSpan.FromHours(2) }.Problems());
    }

    private static List<DrillVictim> Draw(DrillPlan plan, int count) => [.. Enumerable.Range(0, count).Select(_ => plan.Next())];
}
