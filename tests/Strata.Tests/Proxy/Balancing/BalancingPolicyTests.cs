using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using Strata.Proxy.Balancing;
using Strata.Proxy.Upstreams;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.Proxy.Balancing;

/// <summary>The balancing algorithms through a real <see cref="UpstreamPool"/>: which server each request gets.</summary>
public sealed class BalancingPolicyTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task RoundRobin_Weights5To1To1_SmoothSequence()
    {
        var pool = Pool(BalancingAlgorithms.RoundRobin, ("a", 5), ("b", 1), ("c", 1));

        var picks = await PickAsync(pool, 7);

        // nginx's smooth weighted round robin: the heavy server's turns are spread out.
        Assert.Equal("a a b a c a a", string.Join(' ', picks));
    }

    [Fact]
    public async Task RoundRobin_WeightZero_TakesNoNewRequests()
    {
        var pool = Pool(BalancingAlgorithms.RoundRobin, ("a", 1), ("b", 0), ("c", 1));

        var picks = await PickAsync(pool, 10);

        Assert.DoesNotContain("b", picks);
        Assert.Equal(5, picks.Count(p => p == "a"));
    }

    [Fact]
    public async Task LeastConnections_BusyServer_GetsNothingNew()
    {
        var pool = Pool(BalancingAlgorithms.LeastConnections, ("a", 1), ("b", 1));
        var busy = await AcquireAsync(pool);
        var other = busy.Name == "a" ? "b" : "a";

        var picks = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var upstream = await AcquireAsync(pool);
            picks.Add(upstream.Name);
            pool.Release(upstream);
        }

        Assert.All(picks, p => Assert.Equal(other, p));
    }

    [Fact]
    public async Task PowerOfTwo_TwoServersOneBusy_PicksTheIdleOne()
    {
        var pool = Pool(BalancingAlgorithms.PowerOfTwo, ("a", 1), ("b", 1));
        var busy = await AcquireAsync(pool);
        await AcquireAsync(pool);
        pool.Release(pool.Find(busy.Name == "a" ? "b" : "a")!);

        // With two servers both are always compared: the one without a request in flight wins.
        var next = await AcquireAsync(pool);

        Assert.NotEqual(busy.Name, next.Name);
    }

    [Fact]
    public async Task First_FirstServerHasRoom_GetsEverything()
    {
        var pool = Pool(BalancingAlgorithms.First, ("a", 1), ("b", 1));

        var picks = await PickAsync(pool, 5);

        Assert.All(picks, p => Assert.Equal("a", p));
    }

    [Fact]
    public async Task First_FirstServerFull_NextOneTakesOver()
    {
        var pool = Pool(BalancingAlgorithms.First, new BackendSpec { Algorithm = BalancingAlgorithms.First, MaxRequestsPerServer = 1 }, ("a", 1), ("b", 1));

        var first = await AcquireAsync(pool);
        var second = await AcquireAsync(pool);

        Assert.Equal(["a", "b"], new[] { first.Name, second.Name });
    }

    [Fact]
    public async Task Hash_SamePath_SameServerEveryTime()
    {
        var pool = Pool(BalancingAlgorithms.Hash, new BackendSpec { Algorithm = BalancingAlgorithms.Hash, HashOn = HashKind.Path }, ("a", 1), ("b", 1), ("c", 1));

        var first = await PickAsync(pool, 5, path: "/user/42");

        Assert.Single(first.Distinct());
    }

    [Fact]
    public async Task Hash_OneServerGoesDown_OnlyItsKeysMove()
    {
        var backend = new BackendSpec { Algorithm = BalancingAlgorithms.Hash, HashOn = HashKind.Path };
        var pool = Pool(BalancingAlgorithms.Hash, backend, ("a", 1), ("b", 1), ("c", 1));
        var keys = Enumerable.Range(0, 300).Select(i => $"/item/{i}").ToList();
        var before = new Dictionary<string, string>();
        foreach (var key in keys)
        {
            before[key] = (await PickAsync(pool, 1, path: key))[0];
        }

        pool.SetHealth(pool.Find("b")!, up: false);
        var moved = 0;
        foreach (var key in keys)
        {
            var after = (await PickAsync(pool, 1, path: key))[0];
            Assert.NotEqual("b", after);
            if (before[key] != "b" && after != before[key])
            {
                moved++;
            }
        }

        Assert.Equal(0, moved);
        Assert.InRange(before.Values.Count(v => v == "b"), 50, 150);
    }

    [Fact]
    public async Task Hash_Source_SameClientSameServerAcrossPools()
    {
        var backend = new BackendSpec { Algorithm = BalancingAlgorithms.Hash, HashOn = HashKind.Source };
        var one = Pool(BalancingAlgorithms.Hash, backend, ("a", 1), ("b", 1), ("c", 1));
        var two = Pool(BalancingAlgorithms.Hash, backend, ("a", 1), ("b", 1), ("c", 1));

        // Two load balancers (two pools) agree on where a client goes: the hash is stable, not per process.
        for (var i = 1; i < 30; i++)
        {
            var client = IPAddress.Parse($"10.0.0.{i}");
            Assert.Equal((await PickAsync(one, 1, client: client))[0], (await PickAsync(two, 1, client: client))[0]);
        }
    }

    [Fact]
    public async Task SlowStart_ServerBackUp_WeightRampsOverThePeriod()
    {
        var backend = new BackendSpec { SlowStart = TimeSpan.FromSeconds(10) };
        var pool = Pool(BalancingAlgorithms.RoundRobin, backend, ("a", 10), ("b", 10));
        var b = pool.Find("b")!;
        b.ClearSlowStart();
        pool.SetHealth(b, up: false);
        pool.SetHealth(b, up: true);

        _time.Advance(TimeSpan.FromSeconds(1));
        var early = (await PickAsync(pool, 100)).Count(p => p == "b");
        _time.Advance(TimeSpan.FromSeconds(10));
        var late = (await PickAsync(pool, 100)).Count(p => p == "b");

        Assert.Equal(1.0, b.EffectiveWeight(_time, backend.SlowStart) / 10);
        Assert.InRange(early, 5, 15);
        Assert.InRange(late, 45, 55);
    }

    private UpstreamPool Pool(string algorithm, params (string Name, int Weight)[] servers) =>
        Pool(algorithm, new BackendSpec { Algorithm = algorithm }, servers);

    private UpstreamPool Pool(string algorithm, BackendSpec backend, params (string Name, int Weight)[] servers)
    {
        Assert.Equal(algorithm, backend.Algorithm);
        var pool = new UpstreamPool(
            "web",
            servers.Select((s, i) => TestTopology.Node(s.Name, NodeRole.Web, new IPEndPoint(IPAddress.Loopback, 9000 + i), s.Weight)),
            backend,
            _time,
            BalancingPolicies.Create,
            new Random(7));
        foreach (var member in pool.Members)
        {
            pool.SetHealth(member, up: true);
            member.ClearSlowStart();
        }

        return pool;
    }

    private static async Task<Upstream> AcquireAsync(UpstreamPool pool, string path = "/", IPAddress? client = null)
    {
        var context = new DefaultHttpContext();
        context.Request.Path = path;
        context.Connection.RemoteIpAddress = client ?? IPAddress.Loopback;
        var (upstream, failure) = await pool.AcquireAsync(context, tried: 0, CancellationToken.None);
        Assert.Equal(AcquireFailure.None, failure);
        return upstream!;
    }

    private static async Task<List<string>> PickAsync(UpstreamPool pool, int count, string path = "/", IPAddress? client = null)
    {
        var picks = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var upstream = await AcquireAsync(pool, path, client);
            picks.Add(upstream.Name);
            pool.Release(upstream);
        }

        return picks;
    }
}
