using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using Strata.Proxy.Balancing;
using Strata.Proxy.Upstreams;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.Proxy.Upstreams;

/// <summary>Per-server limits and the backend queue (HAProxy maxconn and timeout queue), with virtual time.</summary>
public sealed class UpstreamPoolQueueTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task Acquire_ServerAtLimit_WaitsAndGetsTheReleasedSlot()
    {
        var pool = Pool(maxPerServer: 1, maxQueue: 10);
        var first = await AcquireAsync(pool);

        var waiting = AcquireAsync(pool).AsTask();
        Assert.False(waiting.IsCompleted);
        Assert.Equal(1, pool.QueueLength);

        pool.Release(first.Upstream!);
        var second = await waiting.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(AcquireFailure.None, second.Failure);
        Assert.Equal(0, pool.QueueLength);
    }

    [Fact]
    public async Task Acquire_QueueFull_FailsAtOnce()
    {
        var pool = Pool(maxPerServer: 1, maxQueue: 1);
        await AcquireAsync(pool);
        var queued = AcquireAsync(pool).AsTask();

        var third = await AcquireAsync(pool);

        Assert.Equal(AcquireFailure.QueueFull, third.Failure);
        Assert.False(queued.IsCompleted);
    }

    [Fact]
    public async Task Acquire_NoSlotWithinQueueTimeout_TimesOut()
    {
        var pool = Pool(maxPerServer: 1, maxQueue: 10);
        await AcquireAsync(pool);
        var queued = AcquireAsync(pool).AsTask();

        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.False(queued.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(4));
        var result = await queued.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(AcquireFailure.QueueTimeout, result.Failure);
        Assert.Equal(0, pool.QueueLength);
    }

    [Fact]
    public async Task Acquire_NoServerUp_FailsAtOnceWithoutQueueing()
    {
        var pool = Pool(maxPerServer: 1, maxQueue: 10);
        pool.SetHealth(pool.Members[0], up: false);

        var result = await AcquireAsync(pool);

        Assert.Equal(AcquireFailure.NoServer, result.Failure);
    }

    [Theory]
    [InlineData(AdminState.Drain)]
    [InlineData(AdminState.Maintenance)]
    public async Task Acquire_OnlyServerNotReady_NoServer(AdminState state)
    {
        var pool = Pool(maxPerServer: 0, maxQueue: 10);
        pool.Members[0].AdminState = state;

        var result = await AcquireAsync(pool);

        Assert.Equal(AcquireFailure.NoServer, result.Failure);
    }

    [Fact]
    public void TryAcquirePinned_Draining_AllowedButNotInMaintenance()
    {
        var pool = Pool(maxPerServer: 0, maxQueue: 10);
        var server = pool.Members[0];

        server.AdminState = AdminState.Drain;
        var draining = pool.TryAcquirePinned(server);
        server.AdminState = AdminState.Maintenance;
        var maintenance = pool.TryAcquirePinned(server);

        Assert.True(draining);
        Assert.False(maintenance);
    }

    private UpstreamPool Pool(int maxPerServer, int maxQueue)
    {
        var backend = new BackendSpec { MaxRequestsPerServer = maxPerServer, MaxQueue = maxQueue, QueueTimeout = TimeSpan.FromSeconds(5) };
        var pool = new UpstreamPool("web", [TestTopology.Node("web-1", NodeRole.Web, new IPEndPoint(IPAddress.Loopback, 9000))], backend, _time, BalancingPolicies.Create);
        pool.SetHealth(pool.Members[0], up: true);
        return pool;
    }

    private static ValueTask<(Upstream? Upstream, AcquireFailure Failure)> AcquireAsync(UpstreamPool pool) =>
        pool.AcquireAsync(new DefaultHttpContext(), tried: 0, CancellationToken.None);
}
