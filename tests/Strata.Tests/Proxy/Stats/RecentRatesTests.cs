using Strata.Proxy.Stats;

namespace Strata.Tests.Proxy.Stats;

/// <summary>The rates /stats reports: growth of a counter from its oldest kept sample (about ten seconds back) to its live value.</summary>
public sealed class RecentRatesTests
{
    [Fact]
    public void PerSecond_NoSampleYet_Zero()
    {
        var rates = new RecentRates();

        Assert.Equal((0, 0), rates.PerSecond(TimeSpan.FromSeconds(5), 100, 10));
    }

    [Fact]
    public void PerSecond_SteadyLoad_ItsRateOverTheWindow()
    {
        var rates = new RecentRates();
        for (var second = 0; second < 30; second++)
        {
            // 20 requests a second, one in four failing.
            rates.Sample(TimeSpan.FromSeconds(second), second * 20, second * 5);
        }

        var (requests, failures) = rates.PerSecond(TimeSpan.FromSeconds(30), 600, 150);

        Assert.Equal(20, requests, precision: 6);
        Assert.Equal(5, failures, precision: 6);
    }

    [Fact]
    public void PerSecond_LoadStoppedLongerThanTheWindow_Zero()
    {
        var rates = new RecentRates();
        for (var second = 0; second < 40; second++)
        {
            // 20 a second for 20 s, then nothing.
            var total = Math.Min(second, 20) * 20;
            rates.Sample(TimeSpan.FromSeconds(second), total, 0);
        }

        Assert.Equal((0, 0), rates.PerSecond(TimeSpan.FromSeconds(40), 400, 0));
    }

    [Fact]
    public void PerSecond_JustStarted_DividedByAtLeastOneSecond()
    {
        var rates = new RecentRates();
        rates.Sample(TimeSpan.Zero, 0, 0);

        // Three requests 10 ms after the first sample: 3 a second, not 300.
        Assert.Equal((3, 0), rates.PerSecond(TimeSpan.FromMilliseconds(10), 3, 0));
    }

    [Fact]
    public void PerSecond_FewSamples_FromTheFirstOne()
    {
        var rates = new RecentRates();
        rates.Sample(TimeSpan.FromSeconds(0), 0, 0);
        rates.Sample(TimeSpan.FromSeconds(1), 4, 0);
        rates.Sample(TimeSpan.FromSeconds(2), 8, 2);

        Assert.Equal((4, 1), rates.PerSecond(TimeSpan.FromSeconds(3), 12, 3));
    }
}
