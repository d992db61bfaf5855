using Microsoft.Extensions.Time.Testing;
using Strata.Proxy.Balancing;
using Strata.Proxy.Health;
using Strata.Proxy.Upstreams;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.Proxy.Health;

/// <summary>Active checks against a real server, with virtual time deciding when each check runs.</summary>
public sealed class ActiveHealthCheckerTests : IAsyncLifetime
{
    private static readonly HealthCheckSpec Check = new(
        "/readyz", Interval: TimeSpan.FromSeconds(2), FastInterval: TimeSpan.FromMilliseconds(500), Timeout: TimeSpan.FromSeconds(5), Fall: 3, Rise: 2);

    private readonly FakeTimeProvider _time = new();
    private readonly ListLogger<ActiveHealthChecker> _log = new();
    private FakeUpstream _server = null!;
    private UpstreamPool _pool = null!;
    private ActiveHealthChecker _checker = null!;
    private int _checks;
    private DateTimeOffset? _lastSeen;

    private Upstream Server => _pool.Members[0];

    public async Task InitializeAsync()
    {
        _server = await FakeUpstream.StartAsync("web-2");
        _pool = new UpstreamPool("web", [TestTopology.Node("web-2", NodeRole.Web, _server.Url)], new BackendSpec { HealthCheck = Check }, _time, BalancingPolicies.Create);
        _checker = new ActiveHealthChecker(_pool, _time, _log);
        await _checker.StartAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _checker.StopAsync(CancellationToken.None);
        _checker.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Check_RiseAndFall_UpAfterTwoPassesDownAfterThreeFailuresAtTheFastInterval()
    {
        await NextCheckAsync();
        Assert.False(Server.IsUp);

        // Changing state: the second check comes after the fast interval, not the full one.
        await AdvanceAndCheckAsync(TimeSpan.FromMilliseconds(500));
        Assert.True(Server.IsUp);

        _server.Ready = false;
        await AdvanceAndCheckAsync(TimeSpan.FromSeconds(2));
        Assert.True(Server.IsUp);
        await AdvanceAndCheckAsync(TimeSpan.FromMilliseconds(500));
        Assert.True(Server.IsUp);
        await AdvanceAndCheckAsync(TimeSpan.FromMilliseconds(500));

        Assert.False(Server.IsUp);
        Assert.Equal("HTTP 503", Server.LastCheck!.Detail);
        Assert.Single(_log.Lines, l => l == "web-2 UP after 2 successful check(s)");
        Assert.Single(_log.Lines, l => l == "web-2 DOWN after 3 failed check(s): HTTP 503");
    }

    [Fact]
    public async Task Check_SteadyState_WaitsTheFullInterval()
    {
        await NextCheckAsync();
        await AdvanceAndCheckAsync(TimeSpan.FromMilliseconds(500));
        var checks = Volatile.Read(ref _checks);

        _time.Advance(TimeSpan.FromMilliseconds(1500));
        await Task.Delay(200);

        Assert.Equal(checks, CountChecks());
    }

    [Fact]
    public async Task Check_MarkedDownPassively_NeedsRiseChecksAgain()
    {
        await NextCheckAsync();
        await AdvanceAndCheckAsync(TimeSpan.FromMilliseconds(500));
        Assert.True(Server.IsUp);

        _pool.SetHealth(Server, up: false);
        await AdvanceAndCheckAsync(TimeSpan.FromSeconds(2));
        Assert.False(Server.IsUp);
        await AdvanceAndCheckAsync(TimeSpan.FromMilliseconds(500));

        Assert.True(Server.IsUp);
    }

    private int CountChecks()
    {
        var at = Server.LastCheck?.At;
        if (at is not null && at != _lastSeen)
        {
            _lastSeen = at;
            _checks++;
        }

        return _checks;
    }

    private async Task NextCheckAsync()
    {
        var before = _checks;
        Assert.True(await Eventually.TrueAsync(() => Task.FromResult(CountChecks() > before)), "no check ran");

        // Let the checker reach its delay before virtual time moves.
        await Task.Delay(100);
    }

    private async Task AdvanceAndCheckAsync(TimeSpan by)
    {
        _time.Advance(by);
        await NextCheckAsync();
    }
}
