using System.Runtime.CompilerServices;
using Microsoft.Extensions.Hosting;
using Strata.Proxy.Metrics;
using Strata.Proxy.Routing;
using Strata.Proxy.Upstreams;

namespace Strata.Proxy.Stats;

/// <summary>
/// Samples, once a second, every server's request and failure counters and the node's own answers (all, and those
/// with a 5xx), so that /stats can say each one's rate over the last ten seconds (<see cref="RecentRates"/>).
/// </summary>
internal sealed class RateSampler(Backends backends, ProxyMetrics metrics, TimeProvider time) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private readonly long _started = time.GetTimestamp();

    // Keyed weakly: a server a reload removed takes its samples with it.
    private readonly ConditionalWeakTable<Upstream, RecentRates> _servers = [];
    private readonly RecentRates _answers = new();

    private TimeSpan Now => time.GetElapsedTime(_started);

    /// <summary>Requests sent to <paramref name="upstream"/> per second, and those that failed on it.</summary>
    public (double Requests, double Failures) Server(Upstream upstream) =>
        _servers.TryGetValue(upstream, out var rates) ? rates.PerSecond(Now, upstream.TotalRequests, upstream.TotalFailures) : (0, 0);

    /// <summary>Requests this node answered per second, and those it answered with a 5xx.</summary>
    public (double Requests, double ServerErrors) Answers()
    {
        var (requests, errors) = metrics.Answered();
        return _answers.PerSecond(Now, requests, errors);
    }

    /// <summary>Takes one sample of every counter.</summary>
    internal void SampleAll()
    {
        var now = Now;
        foreach (var pool in backends.All)
        {
            foreach (var upstream in pool.Members)
            {
                _servers.GetValue(upstream, _ => new RecentRates()).Sample(now, upstream.TotalRequests, upstream.TotalFailures);
            }
        }

        var (requests, errors) = metrics.Answered();
        _answers.Sample(now, requests, errors);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var tick = new PeriodicTimer(Interval, time);
        try
        {
            do
            {
                SampleAll();
            }
            while (await tick.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException)
        {
        }
    }
}
