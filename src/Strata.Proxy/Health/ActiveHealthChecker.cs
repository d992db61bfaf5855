using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Strata.Proxy.Upstreams;

namespace Strata.Proxy.Health;

/// <summary>
/// Probes every server of a pool with GET on its health path, at the configured interval, and moves it
/// DOWN after <c>fall</c> failures in a row and UP after <c>rise</c> successes in a row. The first round
/// runs at start, so a pool is usable as soon as its servers answer.
/// </summary>
internal sealed partial class ActiveHealthChecker(
    UpstreamPool pool,
    TimeProvider timeProvider,
    ILogger<ActiveHealthChecker> logger) : BackgroundService
{
    private readonly HttpMessageInvoker _client = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        UseCookies = false,
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        ConnectTimeout = pool.HealthCheck.Timeout,
    });

    private readonly Dictionary<Upstream, ProbeHistory> _history = pool.Members.ToDictionary(m => m, _ => new ProbeHistory());

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(pool.HealthCheck.Interval, timeProvider);
        do
        {
            await Task.WhenAll(pool.Members.Select(m => ProbeAsync(m, stoppingToken)));
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public override void Dispose()
    {
        _client.Dispose();
        base.Dispose();
    }

    private async Task ProbeAsync(Upstream upstream, CancellationToken stoppingToken)
    {
        string? failure;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(pool.HealthCheck.Timeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, upstream.DestinationPrefix.TrimEnd('/') + pool.HealthCheck.Path);
            using var response = await _client.SendAsync(request, timeout.Token);
            failure = response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode}";
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }
        catch (OperationCanceledException)
        {
            failure = $"no answer within {pool.HealthCheck.Timeout.TotalMilliseconds:0} ms";
        }
        catch (HttpRequestException ex)
        {
            failure = ex.InnerException?.Message ?? ex.Message;
        }

        Record(upstream, failure);
    }

    private void Record(Upstream upstream, string? failure)
    {
        var history = _history[upstream];
        if (failure is null)
        {
            history.Failures = 0;
            history.Successes++;
            if (!upstream.IsHealthy && history.Successes >= pool.HealthCheck.Rise && upstream.TrySetHealthy(true))
            {
                LogUp(upstream.Node.Name, history.Successes);
            }
        }
        else
        {
            history.Successes = 0;
            history.Failures++;
            if (upstream.IsHealthy && history.Failures >= pool.HealthCheck.Fall && upstream.TrySetHealthy(false))
            {
                LogDown(upstream.Node.Name, history.Failures, failure);
            }
            else if (!history.ReportedInitialFailure && !upstream.IsHealthy)
            {
                // A server that was never up is reported once, so a typo in an address does not go unnoticed.
                history.ReportedInitialFailure = true;
                LogNotUp(upstream.Node.Name, failure);
            }
        }
    }

    private sealed class ProbeHistory
    {
        public int Failures { get; set; }

        public int Successes { get; set; }

        public bool ReportedInitialFailure { get; set; }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Upstream} UP after {Count} successful check(s)")]
    private partial void LogUp(string upstream, int count);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "{Upstream} DOWN after {Count} failed check(s): {Reason}")]
    private partial void LogDown(string upstream, int count, string reason);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "{Upstream} not up yet: {Reason}")]
    private partial void LogNotUp(string upstream, string reason);
}
