using System.Net;
using Microsoft.Extensions.Time.Testing;
using Strata.Cluster.Vrrp;

namespace Strata.Tests.Cluster.Vrrp;

public class VrrpStateMachineTests
{
    private static readonly IPAddress Local = IPAddress.Parse("10.0.0.1");
    private static readonly IPAddress Peer = IPAddress.Parse("10.0.0.2");
    private static readonly IPAddress LowerPeer = IPAddress.Parse("10.0.0.0");
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    // Priority 100, interval 100 ms (§6.1): Skew_Time = 156 × 100 / 256 = 60.9375 ms,
    // Master_Down_Interval = 3 × 100 + 60.9375 = 360.9375 ms.
    private static readonly TimeSpan Skew100 = TimeSpan.FromMilliseconds(60.9375);
    private static readonly TimeSpan MasterDown100 = TimeSpan.FromMilliseconds(360.9375);

    [Fact]
    public void ComputeMasterDownInterval_Priority100Interval100ms_MatchesRfcFormula()
    {
        Assert.Equal(Skew100, VrrpStateMachine.ComputeSkewTime(100, Interval));
        Assert.Equal(MasterDown100, VrrpStateMachine.ComputeMasterDownInterval(100, Interval));
        // Priority 254 and the RFC's default 1 s: 2 × 1000 / 256 = 7.8125 ms of skew.
        Assert.Equal(TimeSpan.FromMilliseconds(3007.8125), VrrpStateMachine.ComputeMasterDownInterval(254, TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void Start_Priority100_BecomesBackupWithMasterDownTimer()
    {
        var node = NewNode(Options());

        node.Machine.Start();

        Assert.Equal(VrrpState.Backup, node.State);
        Assert.Equal(MasterDown100, node.Machine.NextTimeout);
        Assert.Empty(node.Sent);
        Assert.Equal(["Backup: startup with priority 100, waiting 360.9 ms for a master"], node.Transitions);
    }

    [Fact]
    public void OnTimer_SilentLink_BecomesMasterExactlyAfterMasterDownInterval()
    {
        var node = NewNode(Options());
        node.Machine.Start();

        node.Advance(MasterDown100 - TimeSpan.FromTicks(1));
        Assert.Equal(VrrpState.Backup, node.State);
        Assert.Empty(node.Sent);

        node.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(VrrpState.Master, node.State);
        Assert.Equal([(100, MasterDown100)], node.Sent);
        Assert.Equal("Master: master down timer expired (no advert since startup for 3.61× interval 100 ms)", node.Transitions[^1]);
    }

    [Fact]
    public void OnTimer_Master_SendsAdvertEveryInterval()
    {
        var node = NewNode(Options());
        node.Machine.Start();
        node.Advance(MasterDown100);

        node.Advance(TimeSpan.FromSeconds(1));

        var expected = Enumerable.Range(0, 11).Select(i => ((byte)100, MasterDown100 + (i * Interval))).ToList();
        Assert.Equal(expected, node.Sent);
        Assert.Equal(Interval, node.Machine.NextTimeout);
    }

    [Fact]
    public void OnAdvertisement_BackupHearsMaster_StaysBackup()
    {
        var node = NewNode(Options());
        node.Machine.Start();

        for (var i = 0; i < 30; i++)
        {
            node.Advance(Interval);
            node.Hear(Peer, 200);
        }

        Assert.Equal(VrrpState.Backup, node.State);
        Assert.Empty(node.Sent);
        Assert.Single(node.Transitions);
    }

    [Fact]
    public void OnAdvertisement_Backup_LearnsMasterAdverInterval()
    {
        var node = NewNode(Options());
        node.Machine.Start();

        node.Hear(Peer, 200, intervalCentiseconds: 100);

        Assert.Equal(TimeSpan.FromSeconds(1), node.Machine.MasterAdverInterval);
        // 3 × 1000 + 156 × 1000 / 256 = 3609.375 ms.
        Assert.Equal(TimeSpan.FromMilliseconds(3609.375), node.Machine.NextTimeout);
        node.Advance(TimeSpan.FromMilliseconds(3609));
        Assert.Equal(VrrpState.Backup, node.State);
        node.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(VrrpState.Master, node.State);
    }

    [Fact]
    public void OnMasterGone_NoBackupOutranksUs_BecomesMasterAtOnceAndAdvertises()
    {
        var node = NewNode(Options());
        node.Machine.Start();
        node.Hear(Peer, 200);
        var sent = node.Sent.Count;

        node.Machine.OnMasterGone(Peer, noBackupOutranksUs: true);

        Assert.Equal(VrrpState.Master, node.State);
        Assert.Equal(sent + 1, node.Sent.Count);
        Assert.Equal("Master: master 10.0.0.2 is gone (its process ended) and no other backup outranks priority 100", node.Transitions[^1]);
    }

    [Fact]
    public void OnMasterGone_AnotherBackupMayOutrankUs_WaitsSkewTimeAsForPriorityZero()
    {
        var node = NewNode(Options());
        node.Machine.Start();
        node.Hear(Peer, 200);

        node.Machine.OnMasterGone(Peer, noBackupOutranksUs: false);

        Assert.Equal(VrrpState.Backup, node.State);
        Assert.Equal(Skew100, node.Machine.NextTimeout);
        node.Advance(Skew100);
        Assert.Equal(VrrpState.Master, node.State);
    }

    [Fact]
    public void OnAdvertisement_BackupHearsPriorityZero_BecomesMasterAfterSkewTime()
    {
        var node = NewNode(Options());
        node.Machine.Start();
        node.Advance(Interval);
        node.Hear(Peer, 200);

        node.Hear(Peer, 0);

        Assert.Equal(Skew100, node.Machine.NextTimeout);
        node.Advance(Skew100 - TimeSpan.FromTicks(1));
        Assert.Equal(VrrpState.Backup, node.State);
        node.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(VrrpState.Master, node.State);
        Assert.Equal("Master: master down timer expired after priority 0 from 10.0.0.2 (graceful stop; skew time 60.9 ms)",
            node.Transitions[^1]);
    }

    [Fact]
    public void OnAdvertisement_MasterHearsHigherPriority_BecomesBackup()
    {
        var node = MasterNode(Options());

        node.Hear(Peer, 200);

        Assert.Equal(VrrpState.Backup, node.State);
        Assert.Equal("Backup: higher priority 200 from 10.0.0.2", node.Transitions[^1]);
        Assert.Equal(MasterDown100, node.Machine.NextTimeout);
        var sent = node.Sent.Count;
        node.Advance(Interval * 2);
        Assert.Equal(sent, node.Sent.Count);
    }

    [Fact]
    public void OnAdvertisement_MasterHearsEqualPriorityFromGreaterAddress_BecomesBackup()
    {
        var node = MasterNode(Options());

        node.Hear(Peer, 100);

        Assert.Equal(VrrpState.Backup, node.State);
        Assert.Equal("Backup: equal priority 100 from greater address 10.0.0.2", node.Transitions[^1]);
    }

    [Fact]
    public void OnAdvertisement_MasterHearsEqualPriorityFromLowerAddress_StaysMaster()
    {
        var node = MasterNode(Options());

        node.Hear(LowerPeer, 100);

        Assert.Equal(VrrpState.Master, node.State);
    }

    [Fact]
    public void OnAdvertisement_AddressCompare_IsUnsigned()
    {
        // 200.0.0.1 has the top bit set: compared as a signed number it would look smaller than 10.0.0.1.
        var node = MasterNode(Options());

        node.Hear(IPAddress.Parse("200.0.0.1"), 100);

        Assert.Equal(VrrpState.Backup, node.State);
    }

    [Fact]
    public void OnAdvertisement_MasterHearsLowerPriority_StaysMasterAdvertisesAtOnceAndReportsTheRival()
    {
        var node = MasterNode(Options());
        node.Advance(TimeSpan.FromMilliseconds(30));
        var sent = node.Sent.Count;

        node.Hear(Peer, 50);

        // A healed split brain: our advert at once makes the rival yield; the host announces the VIP again.
        Assert.Equal(VrrpState.Master, node.State);
        Assert.Equal(sent + 1, node.Sent.Count);
        Assert.StartsWith("Competing: priority 50 from", node.Transitions[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void OnAdvertisement_MasterHearsPriorityZero_SendsAdvertAtOnce()
    {
        var node = MasterNode(Options());
        node.Advance(TimeSpan.FromMilliseconds(30));
        var sent = node.Sent.Count;

        node.Hear(Peer, 0);

        Assert.Equal(sent + 1, node.Sent.Count);
        Assert.Equal(Interval, node.Machine.NextTimeout);
        Assert.Equal(VrrpState.Master, node.State);
    }

    [Fact]
    public void OnAdvertisement_OtherVridOrOwnAddress_Ignored()
    {
        var node = MasterNode(Options());

        node.Hear(Peer, 200, virtualRouterId: 52);
        node.Hear(Local, 200);

        Assert.Equal(VrrpState.Master, node.State);
    }

    [Fact]
    public void OnAdvertisement_Initialize_Ignored()
    {
        var node = NewNode(Options());

        node.Hear(Peer, 0);

        Assert.Equal(VrrpState.Initialize, node.State);
        Assert.Null(node.Machine.NextTimeout);
        Assert.Empty(node.Transitions);
    }

    [Fact]
    public void Start_Priority255_BecomesMasterAndAdvertisesAtOnce()
    {
        var node = NewNode(Options() with { Priority = 255 });

        node.Machine.Start();

        Assert.Equal(VrrpState.Master, node.State);
        Assert.Equal([(255, TimeSpan.Zero)], node.Sent);
        Assert.Equal(["Master: address owner (priority 255) at startup"], node.Transitions);
        Assert.Equal(Interval, node.Machine.NextTimeout);
    }

    [Fact]
    public void OnAdvertisement_PreemptOff_HigherPriorityBackupLeavesLiveMaster()
    {
        var node = NewNode(Options() with { Priority = 200, Preempt = false });
        node.Machine.Start();

        for (var i = 0; i < 30; i++)
        {
            node.Advance(Interval);
            node.Hear(Peer, 100);
        }

        Assert.Equal(VrrpState.Backup, node.State);
        Assert.Empty(node.Sent);
    }

    [Fact]
    public void OnAdvertisement_PreemptOn_HigherPriorityBackupTakesOverAfterMasterDownInterval()
    {
        var node = NewNode(Options() with { Priority = 200 });
        node.Machine.Start();

        // Lower-priority adverts are discarded (§6.4.2), so the timer armed at startup runs out.
        for (var i = 0; i < 8; i++)
        {
            node.Advance(Interval / 2);
            node.Hear(Peer, 100);
        }

        Assert.Equal(VrrpState.Master, node.State);
        // Priority 200: 3 × 100 + 56 × 100 / 256 = 321.875 ms after startup.
        Assert.Equal(TimeSpan.FromMilliseconds(321.875), node.Sent[0].At);
        Assert.Equal(200, node.Sent[0].Priority);
    }

    [Fact]
    public void OnAdvertisement_PreemptDelay_DefersTakeoverUntilDelayHasPassed()
    {
        var node = NewNode(Options() with { Priority = 200, PreemptDelay = TimeSpan.FromSeconds(1) });
        node.Machine.Start();

        // The lower-priority master advertises every 100 ms; the one at 0.9 s is the last accepted (before 1 s).
        for (var i = 0; i < 12; i++)
        {
            node.Advance(Interval);
            node.Hear(Peer, 100);
        }

        Assert.Equal(VrrpState.Backup, node.State);
        node.Advance(TimeSpan.FromMilliseconds(30));
        Assert.Equal(VrrpState.Master, node.State);
        // 0.9 s + 321.875 ms.
        Assert.Equal(TimeSpan.FromMilliseconds(1221.875), node.Sent[0].At);
    }

    [Fact]
    public void Shutdown_Master_SendsPriorityZeroAndStops()
    {
        var node = MasterNode(Options());
        var sent = node.Sent.Count;

        node.Machine.Shutdown();

        Assert.Equal(VrrpState.Initialize, node.State);
        Assert.Equal(sent + 1, node.Sent.Count);
        Assert.Equal(0, node.Sent[^1].Priority);
        Assert.Equal("Stopped: shutdown as master (sent priority 0)", node.Transitions[^1]);
        Assert.Null(node.Machine.NextTimeout);
        node.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(sent + 1, node.Sent.Count);
    }

    [Fact]
    public void Shutdown_Backup_StopsWithoutSending()
    {
        var node = NewNode(Options());
        node.Machine.Start();

        node.Machine.Shutdown();
        node.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(VrrpState.Initialize, node.State);
        Assert.Empty(node.Sent);
        Assert.Equal("Stopped: shutdown as backup", node.Transitions[^1]);
    }

    [Fact]
    public void Start_AfterShutdown_StartsAgain()
    {
        var node = MasterNode(Options());
        node.Machine.Shutdown();

        node.Machine.Start();

        Assert.Equal(VrrpState.Backup, node.State);
        Assert.Equal(MasterDown100, node.Machine.NextTimeout);
    }

    [Fact]
    public void SetPriority_LoweredInMaster_NextAdvertsCarryIt()
    {
        var node = MasterNode(Options());

        node.Machine.SetPriority(50);
        node.Advance(Interval * 3);

        Assert.Equal([50, 50, 50], node.Sent.TakeLast(3).Select(s => (int)s.Priority));
        Assert.Equal(VrrpState.Master, node.State);
    }

    [Fact]
    public void SetPriority_OutOfRange_Throws()
    {
        var node = NewNode(Options());

        Assert.Throws<ArgumentOutOfRangeException>(() => node.Machine.SetPriority(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => node.Machine.SetPriority(256));
    }

    [Fact]
    public void Constructor_InvalidOptions_ThrowsWithEveryProblem()
    {
        var options = Options() with
        {
            VirtualRouterId = 0,
            Priority = 0,
            AdvertisementInterval = TimeSpan.FromMilliseconds(105),
            PrimaryAddress = IPAddress.IPv6Loopback,
        };

        var exception = Assert.Throws<ArgumentException>(() => new VrrpStateMachine(options, new VrrpTestNode("x", Options(), new FakeTimeProvider()), new FakeTimeProvider()));

        Assert.Contains("VirtualRouterId 0", exception.Message);
        Assert.Contains("Priority 0", exception.Message);
        Assert.Contains("AdvertisementInterval 105 ms", exception.Message);
        Assert.Contains("PrimaryAddress '::1'", exception.Message);
    }

    [Fact]
    public void CreateAdvertisement_UsesOptions()
    {
        var node = NewNode(Options());

        var advert = node.Machine.CreateAdvertisement(0);

        Assert.Equal(51, advert.VirtualRouterId);
        Assert.Equal(0, advert.Priority);
        Assert.Equal(10, advert.MaxAdvertIntervalCentiseconds);
        Assert.Equal([VrrpPackets.Vip], advert.Addresses);
    }

    private static VrrpOptions Options() => new()
    {
        VirtualRouterId = 51,
        PrimaryAddress = Local,
        VirtualAddresses = [VrrpPackets.Vip],
    };

    private static VrrpTestNode NewNode(VrrpOptions options) => new("local", options, new FakeTimeProvider());

    private static VrrpTestNode MasterNode(VrrpOptions options)
    {
        var node = NewNode(options);
        node.Machine.Start();
        node.Advance(node.Machine.MasterDownInterval);
        Assert.Equal(VrrpState.Master, node.State);
        return node;
    }
}
