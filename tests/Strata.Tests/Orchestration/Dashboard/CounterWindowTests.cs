using Strata.Orchestration.Dashboard;

namespace Strata.Tests.Orchestration.Dashboard;

public sealed class CounterWindowTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Rate_OverTheWindow_WhatWasCountedPerSecond()
    {
        var counters = new CounterWindow(TimeSpan.FromSeconds(5));
        for (var second = 0; second <= 10; second++)
        {
            // 10/s for the first 5 s, then 30/s.
            counters.Add("lb-1 requests", second <= 5 ? 1000 + (10 * second) : 1050 + (30 * (second - 5)), Start.AddSeconds(second));
        }

        Assert.Equal(30, counters.Rate("lb-1 requests", Start.AddSeconds(10)), 9);
        Assert.Equal(150, counters.Delta("lb-1 requests", Start.AddSeconds(10)), 9);
    }

    [Fact]
    public void Rate_FirstReading_CountsNothingFromBefore()
    {
        var counters = new CounterWindow(TimeSpan.FromSeconds(5));

        counters.Add("web-1 requests", 123_456, Start);

        Assert.Equal(0, counters.Rate("web-1 requests", Start));
        Assert.Equal(0, counters.Rate("never read", Start));
    }

    [Fact]
    public void Delta_CounterStartsAgainFromZero_CountsWhatCameAfter()
    {
        var counters = new CounterWindow(TimeSpan.FromSeconds(5));
        counters.Add("lb-1>web-1 requests", 500, Start);
        counters.Add("lb-1>web-1 requests", 520, Start.AddSeconds(1));

        // lb-1 restarted: its counter begins again at 0 and has reached 7.
        counters.Add("lb-1>web-1 requests", 7, Start.AddSeconds(2));

        Assert.Equal(27, counters.Delta("lb-1>web-1 requests", Start.AddSeconds(2)));
    }

    [Fact]
    public void Rate_NotReadForAWindow_IsZero_ThenForgotten()
    {
        var counters = new CounterWindow(TimeSpan.FromSeconds(5));
        counters.Add("web-3 requests", 10, Start);
        counters.Add("web-3 requests", 20, Start.AddSeconds(1));

        Assert.Equal(10, counters.Rate("web-3 requests", Start.AddSeconds(1)));
        Assert.Equal(0, counters.Rate("web-3 requests", Start.AddSeconds(7)));

        counters.Prune(Start.AddSeconds(60));
        counters.Add("web-3 requests", 500, Start.AddSeconds(61));
        Assert.Equal(0, counters.Delta("web-3 requests", Start.AddSeconds(61)));
    }
}
