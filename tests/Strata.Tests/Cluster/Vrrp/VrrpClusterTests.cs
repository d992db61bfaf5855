using System.Net;
using Strata.Cluster.Vrrp;

namespace Strata.Tests.Cluster.Vrrp;

/// <summary>
/// Several state machines wired together through <see cref="VrrpTestWire"/>: every advert goes through its
/// bytes (IP header, TTL, checksum) to the others, in virtual time. The point is the outcome RFC 5798 promises:
/// exactly one master, the right one, after start, a SIGKILL, a graceful stop and a priority change.
/// </summary>
public class VrrpClusterTests
{
    private static readonly IPAddress Address1 = IPAddress.Parse("10.0.0.1");
    private static readonly IPAddress Address2 = IPAddress.Parse("10.0.0.2");
    private static readonly IPAddress Address3 = IPAddress.Parse("10.0.0.3");

    [Fact]
    public void Start_TwoRouters_HigherPriorityIsTheOnlyMaster()
    {
        var wire = new VrrpTestWire();
        var lb1 = wire.Add("lb1", Options(Address1, 150));
        var lb2 = wire.Add("lb2", Options(Address2, 100));

        lb1.Machine.Start();
        lb2.Machine.Start();

        AssertOneMasterThroughout(wire, lb1, TimeSpan.FromSeconds(2));
        Assert.Equal(VrrpState.Backup, lb2.State);
        // lb1's shorter Master_Down_Interval (341.4 ms vs 360.9 ms) made it master before lb2's timer ran out.
        Assert.Empty(lb2.Sent);
        Assert.Empty(wire.Dropped);
    }

    [Fact]
    public void Start_EqualPriority_GreaterAddressIsTheOnlyMaster()
    {
        var wire = new VrrpTestWire();
        var lb1 = wire.Add("lb1", Options(Address1, 100));
        var lb2 = wire.Add("lb2", Options(Address2, 100));

        lb1.Machine.Start();
        lb2.Machine.Start();

        // Same priority, same timers: both become master at the same instant, then the tie-break of §6.4.3.
        AssertOneMasterThroughout(wire, lb2, TimeSpan.FromSeconds(2));
        Assert.Contains("Backup: equal priority 100 from greater address 10.0.0.2", lb1.Transitions);
    }

    [Fact]
    public void Kill_Master_BackupTakesOverAfterMasterDownIntervalAndRestartedMasterPreempts()
    {
        var wire = new VrrpTestWire();
        var lb1 = wire.Add("lb1", Options(Address1, 150));
        var lb2 = wire.Add("lb2", Options(Address2, 100));
        lb1.Machine.Start();
        lb2.Machine.Start();
        wire.RunFor(TimeSpan.FromSeconds(1));

        wire.Kill(lb1);
        wire.RunFor(TimeSpan.FromSeconds(1));

        Assert.Same(lb2, Assert.Single(wire.Masters));
        // No priority 0 from a killed process: lb2 waits the full 360.9375 ms after the last advert it heard.
        Assert.Equal(lb1.Sent[^1].At + TimeSpan.FromMilliseconds(360.9375), lb2.Sent[0].At);
        Assert.StartsWith("Master: master down timer expired (no advert from 10.0.0.1 for 3.61× interval 100 ms)", lb2.Transitions[^1]);

        // The process restarts (a new machine, same address and priority) and takes the VIP back (preempt).
        var lb1Again = wire.Add("lb1-restarted", Options(Address1, 150));
        lb1Again.Machine.Start();

        AssertOneMasterThroughout(wire, lb1Again, TimeSpan.FromSeconds(2));
        Assert.Equal("Backup: higher priority 150 from 10.0.0.1", lb2.Transitions[^1]);
    }

    [Fact]
    public void Shutdown_Master_BackupTakesOverAfterSkewTime()
    {
        var wire = new VrrpTestWire();
        var lb1 = wire.Add("lb1", Options(Address1, 150));
        var lb2 = wire.Add("lb2", Options(Address2, 100));
        lb1.Machine.Start();
        lb2.Machine.Start();
        wire.RunFor(TimeSpan.FromMilliseconds(1030));

        lb1.Machine.Shutdown();
        var stoppedAt = lb1.Sent[^1].At;
        AssertOneMasterThroughout(wire, lb2, TimeSpan.FromSeconds(1), settle: TimeSpan.FromMilliseconds(100));

        Assert.Equal(0, lb1.Sent[^1].Priority);
        // Priority 0 cuts the wait to Skew_Time: 156 × 100 / 256 = 60.9375 ms instead of 360.9375 ms.
        Assert.Equal(stoppedAt + TimeSpan.FromMilliseconds(60.9375), lb2.Sent[0].At);
        Assert.Equal(VrrpState.Initialize, lb1.State);
    }

    [Fact]
    public void Shutdown_MasterWithTwoBackups_HigherPriorityBackupTakesOverFirst()
    {
        var wire = new VrrpTestWire();
        var lb1 = wire.Add("lb1", Options(Address1, 200));
        var lb2 = wire.Add("lb2", Options(Address2, 100));
        var lb3 = wire.Add("lb3", Options(Address3, 150));
        foreach (var node in wire.Nodes)
        {
            node.Machine.Start();
        }

        wire.RunFor(TimeSpan.FromSeconds(1));

        lb1.Machine.Shutdown();

        // lb3's Skew_Time (41.4 ms) runs out before lb2's (60.9 ms); lb3's first advert resets lb2's timer.
        AssertOneMasterThroughout(wire, lb3, TimeSpan.FromSeconds(1), settle: TimeSpan.FromMilliseconds(100));
        Assert.Empty(lb2.Sent);
    }

    [Fact]
    public void SetPriority_LoweredOnMaster_HigherBackupPreemptsAndRaisedAgainTakesBack()
    {
        var wire = new VrrpTestWire();
        var lb1 = wire.Add("lb1", Options(Address1, 150));
        var lb2 = wire.Add("lb2", Options(Address2, 100));
        lb1.Machine.Start();
        lb2.Machine.Start();
        wire.RunFor(TimeSpan.FromSeconds(1));

        // A failed health check on lb1 lowers its priority below lb2's.
        lb1.Machine.SetPriority(50);

        AssertOneMasterThroughout(wire, lb2, TimeSpan.FromSeconds(2), settle: TimeSpan.FromMilliseconds(500));
        Assert.Contains(lb1.Sent, s => s.Priority == 50);
        Assert.Equal("Backup: higher priority 100 from 10.0.0.2", lb1.Transitions[^1]);

        // Healthy again: lb1 discards lb2's lower-priority adverts and preempts.
        lb1.Machine.SetPriority(150);

        AssertOneMasterThroughout(wire, lb1, TimeSpan.FromSeconds(2), settle: TimeSpan.FromMilliseconds(500));
        Assert.Empty(wire.Dropped);
    }

    [Fact]
    public void Start_PreemptOffOnHigherPriorityLateJoiner_LiveMasterKeepsTheRole()
    {
        var wire = new VrrpTestWire();
        var lb1 = wire.Add("lb1", Options(Address1, 100));
        lb1.Machine.Start();
        wire.RunFor(TimeSpan.FromSeconds(1));

        var lb2 = wire.Add("lb2", Options(Address2, 200) with { Preempt = false });
        lb2.Machine.Start();

        AssertOneMasterThroughout(wire, lb1, TimeSpan.FromSeconds(2));
        Assert.Empty(lb2.Sent);
    }

    private static VrrpOptions Options(IPAddress address, int priority) => new()
    {
        VirtualRouterId = 51,
        Priority = priority,
        PrimaryAddress = address,
        VirtualAddresses = [VrrpPackets.Vip],
    };

    // Lets the cluster settle, then checks every 10 ms of virtual time that exactly one node is master, and
    // that it is the expected one.
    private static void AssertOneMasterThroughout(VrrpTestWire wire, VrrpTestNode expected, TimeSpan duration, TimeSpan? settle = null)
    {
        wire.RunFor(settle ?? TimeSpan.FromMilliseconds(500));
        var step = TimeSpan.FromMilliseconds(10);
        for (var elapsed = TimeSpan.Zero; elapsed < duration; elapsed += step)
        {
            wire.RunFor(step);
            Assert.Same(expected, Assert.Single(wire.Masters));
        }
    }
}
