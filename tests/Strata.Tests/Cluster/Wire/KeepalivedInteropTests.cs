// Why this file exists: the strongest evidence that our VRRPv3 is the real protocol is that keepalived, the
// reference implementation operators use, agrees with it on a real link. keepalived (priority 100) runs in
// namespace b; our VrrpStateMachine (priority 200) runs over RawVrrpSocket in namespace a. keepalived must stay
// BACKUP while we advertise, take the VIP within 3 s when our adverts stop without a priority-0 goodbye (a
// crash), and give it back within 3 s when we come back (preemption). keepalived is stopped by its PID.
using System.Diagnostics;
using System.Net;
using System.Text;
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

        if (!NetnsTestNetwork.CheckOrReport(FindKeepalived() is null ? "keepalived is not installed (apt-get install keepalived)" : null, output))
        {
            return;
        }

        var directory = Directory.CreateTempSubdirectory("strata-keepalived-");
        var log = new StringBuilder();
        Process? keepalived = null;
        RawHost? ours = null;
        try
        {
            var config = Path.Combine(directory.FullName, "keepalived.conf");
            await File.WriteAllTextAsync(config, $$"""
                global_defs {
                    router_id strata_test
                    enable_script_security
                    vrrp_version 3
                }
                vrrp_instance VI {
                    state BACKUP
                    interface {{network.InterfaceB}}
                    virtual_router_id {{RouterId}}
                    priority 100
                    advert_int 1
                    virtual_ipaddress {
                        {{network.Vip}}/32
                    }
                }

                """);
            var (checkCode, checkOutput) = await Commands.RunAsync("ip", "netns", "exec", network.B, "keepalived", "-t", "-f", config);
            Assert.True(checkCode == 0, $"keepalived -t rejected the config ({checkCode}): {checkOutput}");

            ours = await RawHost.StartAsync(network, priority: 200);
            await WaitUntilAsync(() => Task.FromResult(ours.Machine.State == VrrpState.Master), TimeSpan.FromSeconds(10), "our node became master");

            keepalived = StartKeepalived(config, directory.FullName, log);

            // keepalived may go MASTER for a moment at start-up, before its socket hears our first advert; that is
            // its own start-up, not the interop under test. Wait until it has settled as BACKUP with the VIP gone.
            await WaitUntilAsync(
                async () => LastState(log) == "BACKUP" && !await KeepalivedHoldsVipAsync(),
                TimeSpan.FromSeconds(10),
                "keepalived settled as BACKUP\n" + Snapshot(log));
            var settled = Snapshot(log).Length;

            // While we advertise at 200, keepalived (100) must stay backup: the VIP never appears on vethb.
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(1.5);
            while (DateTime.UtcNow < until)
            {
                Assert.False(await KeepalivedHoldsVipAsync(), "keepalived took the VIP while our priority-200 master advertised\n" + Snapshot(log));
                await Task.Delay(100);
            }

            Assert.False(
                Snapshot(log)[settled..].Contains("Entering MASTER STATE", StringComparison.Ordinal),
                "keepalived became master while we advertised\n" + Snapshot(log));

            // Crash: stop sending without the priority-0 advert of Shutdown.
            var crashed = Stopwatch.StartNew();
            await ours.DisposeAsync();
            ours = null;
            await WaitUntilAsync(KeepalivedHoldsVipAsync, TimeSpan.FromSeconds(10), "keepalived took the VIP after our crash\n" + Snapshot(log));
            output.WriteLine($"keepalived held the VIP {crashed.ElapsedMilliseconds} ms after our adverts stopped");

            // Return with priority 200: we preempt, keepalived must give the VIP back.
            var returned = Stopwatch.StartNew();
            ours = await RawHost.StartAsync(network, priority: 200);
            await WaitUntilAsync(async () => !await KeepalivedHoldsVipAsync(), TimeSpan.FromSeconds(10),
                "keepalived gave the VIP back after we returned\n" + Snapshot(log));
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
                await StopAsync(keepalived);
                keepalived.Dispose();
            }

            output.WriteLine("keepalived log:\n" + Snapshot(log));
            directory.Delete(recursive: true);
        }

        Task<bool> KeepalivedHoldsVipAsync() => HoldsVipAsync(network.B, network.InterfaceB, network.Vip);
    }

    private static async Task<bool> HoldsVipAsync(string ns, string iface, string vip) =>
        (await RawVrrpSocketTests.AddressesAsync(ns, iface)).Contains($"inet {vip}/32", StringComparison.Ordinal);

    private Process StartKeepalived(string config, string directory, StringBuilder log)
    {
        var start = new ProcessStartInfo("ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "netns", "exec", network.B, "keepalived", "--dont-fork", "--log-console", "--vrrp", "--use-file", config,
            "--pid", Path.Combine(directory, "keepalived.pid"), "--vrrp_pid", Path.Combine(directory, "vrrp.pid"),
            "--checkers_pid", Path.Combine(directory, "checkers.pid"), "--bfd_pid", Path.Combine(directory, "bfd.pid"),
        })
        {
            start.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(log, e.Data);
        process.ErrorDataReceived += (_, e) => Append(log, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    // `ip netns exec` execs keepalived, so the PID we started is keepalived's parent process; SIGTERM makes it
    // stop its VRRP child (and remove the VIP). SIGKILL after 5 s if it has not exited.
    private static async Task StopAsync(Process process)
    {
        if (process.HasExited)
        {
            return;
        }

        const int sigterm = 15;
        _ = Kill(process.Id, sigterm);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

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

    private static string? FindKeepalived()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin";
        return path.Split(':', StringSplitOptions.RemoveEmptyEntries).Select(dir => Path.Combine(dir, "keepalived")).FirstOrDefault(File.Exists);
    }

    private static void Append(StringBuilder log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            log.AppendLine(line);
        }
    }

    /// <summary>The state keepalived entered last ("BACKUP", "MASTER"), from its log, or null before any.</summary>
    private static string? LastState(StringBuilder log)
    {
        var text = Snapshot(log);
        var backup = text.LastIndexOf("Entering BACKUP STATE", StringComparison.Ordinal);
        var master = text.LastIndexOf("Entering MASTER STATE", StringComparison.Ordinal);
        return backup < 0 && master < 0 ? null : backup > master ? "BACKUP" : "MASTER";
    }

    private static string Snapshot(StringBuilder log)
    {
        lock (log)
        {
            return log.ToString();
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

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
