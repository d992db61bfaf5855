// Why this file exists: the strongest evidence that our VRRPv3 is the real protocol is that keepalived, the
// reference implementation operators use, agrees with it on a real link. keepalived (priority 100) runs in
// namespace b; our VrrpStateMachine (priority 200) runs over RawVrrpSocket in namespace a. keepalived must stay
// BACKUP while we advertise, take the VIP within 3 s when our adverts stop without a priority-0 goodbye (a
// crash), and give it back within 3 s when we come back (preemption). keepalived is stopped by its PID.
using System.Diagnostics;
using System.Net;
using System.Threading.Channels;
using Strata.Cluster.Vrrp;
using Strata.Cluster.Wire;
using Xunit.Abstractions;

namespace Strata.Tests.Cluster.Wire;

public sealed class KeepalivedInteropTests(NetnsTestNetwork network, ITestOutputHelper output) : IClassFixture<NetnsTestNetwork>
{
    private const int RouterId = 51;

    [SkippableFact]
    public async Task Interop_OurMasterCrashesThenReturns_KeepalivedTakesOverThenYields()
    {
        if (!network.Check(output))
        {
            return;
        }

        if (!NetnsTestNetwork.CheckOrReport(KeepalivedProcess.Unavailable, output))
        {
            return;
        }

        KeepalivedProcess? keepalived = null;
        RawHost? ours = null;
        try
        {
            var config = KeepalivedProcess.Config(network.InterfaceB, RouterId, priority: 100, advertInterval: "1", network.Vip);
            ours = await RawHost.StartAsync(network, priority: 200);
            await WaitUntilAsync(() => Task.FromResult(ours.Machine.State == VrrpState.Master), TimeSpan.FromSeconds(10), "our node became master");

            keepalived = await KeepalivedProcess.StartAsync(network.B, config);

            // keepalived may go MASTER for a moment at start-up, before its socket hears our first advert; that is
            // its own start-up, not the interop under test. Wait until it has settled as BACKUP with the VIP gone.
            await WaitUntilAsync(
                async () => keepalived.LastState == "BACKUP" && !await KeepalivedHoldsVipAsync(),
                TimeSpan.FromSeconds(10),
                "keepalived settled as BACKUP\n" + keepalived.Log);
            var settled = keepalived.Log.Length;

            // While we advertise at 200, keepalived (100) must stay backup: the VIP never appears on vethb.
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(1.5);
            while (DateTime.UtcNow < until)
            {
                Assert.False(await KeepalivedHoldsVipAsync(), "keepalived took the VIP while our priority-200 master advertised\n" + keepalived.Log);
                await Task.Delay(100);
            }

            Assert.False(
                keepalived.Log[settled..].Contains("Entering MASTER STATE", StringComparison.Ordinal),
                "keepalived became master while we advertised\n" + keepalived.Log);

            // Crash: stop sending without the priority-0 advert of Shutdown.
            var crashed = Stopwatch.StartNew();
            await ours.DisposeAsync();
            ours = null;
            await WaitUntilAsync(KeepalivedHoldsVipAsync, TimeSpan.FromSeconds(10), "keepalived took the VIP after our crash\n" + keepalived.Log);
            output.WriteLine($"keepalived held the VIP {crashed.ElapsedMilliseconds} ms after our adverts stopped");

            // Return with priority 200: we preempt, keepalived must give the VIP back.
            var returned = Stopwatch.StartNew();
            ours = await RawHost.StartAsync(network, priority: 200);
            await WaitUntilAsync(async () => !await KeepalivedHoldsVipAsync(), TimeSpan.FromSeconds(10),
                "keepalived gave the VIP back after we returned\n" + keepalived.Log);
            output.WriteLine($"keepalived released the VIP {returned.ElapsedMilliseconds} ms after we restarted; our state {ours.Machine.State}");
            Assert.Equal(VrrpState.Master, ours.Machine.State);
            output.WriteLine($"our transitions: {string.Join("; ", ours.Transitions)}; dropped {ours.Dropped}");
        }
        finally
        {
            if (ours is not null)
            {
                await ours.DisposeAsync();
            }

            if (keepalived is not null)
            {
                output.WriteLine("keepalived log:\n" + keepalived.Log);
                await keepalived.DisposeAsync();
            }
        }

        Task<bool> KeepalivedHoldsVipAsync() => HoldsVipAsync(network.B, network.InterfaceB, network.Vip);
    }

    private static async Task<bool> HoldsVipAsync(string ns, string iface, string vip) =>
        (await RawVrrpSocketTests.AddressesAsync(ns, iface)).Contains($"inet {vip}/32", StringComparison.Ordinal);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan limit, string what)
    {
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            if (await condition())
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out after {limit.TotalSeconds} s waiting until: {what}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>
    /// A tiny host loop for the state machine, as VrrpElection has for UDP: one loop task owns the machine;
    /// a receive task feeds it adverts from the raw socket (made in namespace a) through a channel.
    /// </summary>
    private sealed class RawHost : IVrrpOutputs, IAsyncDisposable
    {
        private readonly RawVrrpSocket _socket;
        private readonly IPAddress _address;
        private readonly CancellationTokenSource _stop = new();
        private readonly Channel<(VrrpAdvertisement Advertisement, IPAddress Source)> _received =
            Channel.CreateUnbounded<(VrrpAdvertisement, IPAddress)>();
        private Task _receive = Task.CompletedTask;
        private Task _loop = Task.CompletedTask;

        private RawHost(RawVrrpSocket socket, IPAddress address, int priority, IPAddress vip)
        {
            _socket = socket;
            _address = address;
            Machine = new VrrpStateMachine(
                new VrrpOptions
                {
                    VirtualRouterId = RouterId,
                    Priority = priority,
                    PrimaryAddress = address,
                    VirtualAddresses = [vip],
                    // keepalived's default, 1 s: a test machine busy with the rest of the suite may stall a loop for
                    // longer than three 100 ms intervals, and that would be a scheduling hiccup, not interop.
                    AdvertisementInterval = TimeSpan.FromSeconds(1),
                },
                this,
                TimeProvider.System);
        }

        public VrrpStateMachine Machine { get; }

        public List<string> Transitions { get; } = [];

        public long Dropped => _socket.Dropped;

        public static async Task<RawHost> StartAsync(NetnsTestNetwork network, int priority)
        {
            var address = IPAddress.Parse(network.AddressA);
            var socket = await NetnsTestNetwork.InNamespaceAsync(network.A, () => RawVrrpSocket.Open(network.InterfaceA, address));
            var host = new RawHost(socket, address, priority, IPAddress.Parse(network.Vip));
            host._receive = Task.Run(host.ReceiveLoopAsync);
            host._loop = Task.Run(host.RunAsync);
            return host;
        }

        public void SendAdvertisement(byte priority) => _socket.Send(Machine.CreateAdvertisement(priority), _address);

        public void BecameMaster(string reason) => Record("master: " + reason);

        public void BecameBackup(string reason) => Record("backup: " + reason);

        public void Stopped(string reason) => Record("stopped: " + reason);

        /// <summary>Stops everything without Shutdown: to keepalived this looks like a crash.</summary>
        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            try
            {
                await Task.WhenAll(_loop, _receive);
            }
            catch (OperationCanceledException)
            {
            }

            _socket.Dispose();
            _stop.Dispose();
        }

        private void Record(string transition)
        {
            lock (Transitions)
            {
                Transitions.Add(transition);
            }
        }

        private async Task ReceiveLoopAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                var (advertisement, source, _) = await _socket.ReceiveAsync(_stop.Token);
                _received.Writer.TryWrite((advertisement, source));
            }
        }

        private async Task RunAsync()
        {
            Machine.Start();
            while (!_stop.IsCancellationRequested)
            {
                var wait = Machine.NextTimeout ?? TimeSpan.FromMilliseconds(50);
                using (var timer = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
                {
                    timer.CancelAfter(wait);
                    try
                    {
                        await _received.Reader.WaitToReadAsync(timer.Token);
                    }
                    catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
                    {
                    }
                }

                while (_received.Reader.TryRead(out var item))
                {
                    Machine.OnAdvertisement(item.Advertisement, item.Source);
                }

                Machine.OnTimer();
            }
        }
    }
}
