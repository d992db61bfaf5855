using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Strata.Proxy.Upstreams;

namespace Strata.Proxy.Health;

/// <summary>
/// HAProxy-style active checks: each server gets GET on the check path every interval, or every fast interval
/// while it is changing state; <c>fall</c> failures in a row take it DOWN, <c>rise</c> successes bring it UP,
/// and each change is logged once. Servers start DOWN and are checked at once, so a backend is usable as soon
/// as its servers answer.
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
        ActivityHeadersPropagator = null,
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        ConnectTimeout = pool.Backend.HealthCheck.Timeout,
    });

    private readonly Dictionary<Upstream, CancellationTokenSource> _loops = [];
    private readonly Lock _lock = new();
    private CancellationToken _stopping;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
        pool.Changed += StartAndStopLoops;
        StartAndStopLoops();
        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, timeProvider, stoppingToken);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            pool.Changed -= StartAndStopLoops;
        }
    }

    /// <summary>One check loop per server; after a reload, loops of removed servers stop and new servers get one.</summary>
    private void StartAndStopLoops()
    {
        lock (_lock)
        {
            var members = pool.Members;
            foreach (var (member, loop) in _loops.Where(l => !members.Contains(l.Key)).ToList())
            {
                loop.Cancel();
                loop.Dispose();
                _loops.Remove(member);
            }

            foreach (var member in members.Where(m => !_loops.ContainsKey(m)))
            {
                var loop = CancellationTokenSource.CreateLinkedTokenSource(_stopping);
                _loops[member] = loop;
                _ = CheckLoopAsync(member, loop.Token);
            }
        }
    }

    public override void Dispose()
    {
        lock (_lock)
        {
            foreach (var loop in _loops.Values)
            {
                loop.Dispose();
            }
        }

        _client.Dispose();
        base.Dispose();
    }

    private async Task CheckLoopAsync(Upstream upstream, CancellationToken stoppingToken)
    {
        var history = new ProbeHistory();
        while (!stoppingToken.IsCancellationRequested)
        {
            // Read each round: a reload may have changed the check.
            var check = pool.Backend.HealthCheck;
            var result = await ProbeAsync(upstream, stoppingToken);
            if (result is null)
            {
                return;
            }

            upstream.LastCheck = result;
            Record(upstream, history, result);
            var changing = upstream.IsUp ? history.Failures > 0 : history.Successes > 0;
            try
            {
                await Task.Delay(changing ? check.FastInterval : check.Interval, timeProvider, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<CheckResult?> ProbeAsync(Upstream upstream, CancellationToken stoppingToken)
    {
        var check = pool.Backend.HealthCheck;
        string? failure;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(check.Timeout);
        try
        {
            // On the server's management address: where its /readyz answers, out of the site's reach.
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(upstream.Node.ManagementUrl, check.Path));
            using var response = await _client.SendAsync(request, timeout.Token);
            failure = response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode}";
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return null;
        }
        catch (OperationCanceledException)
        {
            failure = $"no answer within {check.Timeout.TotalMilliseconds:0} ms";
        }
        catch (HttpRequestException ex)
        {
            failure = ex.InnerException?.Message ?? ex.Message;
        }

        return new CheckResult(timeProvider.GetUtcNow(), failure is null, failure ?? "passed");
    }

    private void Record(Upstream upstream, ProbeHistory history, CheckResult result)
    {
        var check = pool.Backend.HealthCheck;
        if (upstream.IsUp != history.WasUp)
        {
            // Passive health changed it since the last check: rise or fall counts from here.
            history.Successes = 0;
            history.Failures = 0;
        }

        RecordResult(upstream, history, result, check);
        history.WasUp = upstream.IsUp;
    }

    private void RecordResult(Upstream upstream, ProbeHistory history, CheckResult result, Topology.HealthCheckSpec check)
    {
        if (result.Passed)
        {
            history.Failures = 0;
            history.Successes++;
            if (!upstream.IsUp && history.Successes >= check.Rise && pool.SetHealth(upstream, up: true))
            {
                if (!history.EverUp)
                {
                    // HAProxy does not slow-start a server at start-up, only one coming back.
                    history.EverUp = true;
                    upstream.ClearSlowStart();
                }

                LogUp(upstream.Name, history.Successes);
            }
        }
        else
        {
            history.Successes = 0;
            history.Failures++;
            if (upstream.IsUp && history.Failures >= check.Fall && pool.SetHealth(upstream, up: false))
            {
                LogDown(upstream.Name, history.Failures, result.Detail);
            }
            else if (!history.EverUp && !history.ReportedInitialFailure)
            {
                // A server that was never up is reported once, so a wrong address does not go unnoticed.
                history.ReportedInitialFailure = true;
                LogNotUp(upstream.Name, result.Detail);
            }
        }
    }

    private sealed class ProbeHistory
    {
        public int Failures { get; set; }

        public int Successes { get; set; }

        public bool EverUp { get; set; }

        public bool WasUp { get; set; }

        public bool ReportedInitialFailure { get; set; }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Upstream} UP after {Count} successful check(s)")]
    private partial void LogUp(string upstream, int count);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "{Upstream} DOWN after {Count} failed check(s): {Reason}")]
    private partial void LogDown(string upstream, int count, string reason);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "{Upstream} not up yet: {Reason}")]
    private partial void LogNotUp(string upstream, string reason);
}
