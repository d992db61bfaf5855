// Why this file exists: raw VRRP (Wire/RawVrrpSocket) and keepalived interop need a real link, root and network
// namespaces. Per DESIGN.md ("Safety of tests"), all traffic stays inside namespaces this fixture creates: a
// bridge in its own namespace, two "hosts" a and b wired to it with veth pairs, a private 10.213.N.0/24, no
// default route, nothing in the host namespace. DisposeAsync deletes every namespace (which removes the veths).
// Code runs "inside" a namespace on a dedicated thread that entered it with setns(2): sockets and child
// processes created on that thread live in that namespace.
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Strata.Tests.Common;
using Xunit.Abstractions;

namespace Strata.Tests.Cluster.Wire;

/// <summary>Two namespaces (a, b) on a bridge in a third; created once per test class.</summary>
public sealed class NetnsTestNetwork : IAsyncLifetime
{
    private readonly List<string> _created = [];

    public NetnsTestNetwork()
    {
        var suffix = Convert.ToHexString(Guid.NewGuid().ToByteArray().AsSpan(0, 3)).ToLowerInvariant();
        Prefix = $"strata-t-{suffix}";
        SubnetOctet = Random.Shared.Next(1, 255);
    }

    public string Prefix { get; }

    public int SubnetOctet { get; }

    public string Bridge => Prefix + "-br";

    public string A => Prefix + "-a";

    public string B => Prefix + "-b";

    public string InterfaceA => "vetha";

    public string InterfaceB => "vethb";

    public string AddressA => $"10.213.{SubnetOctet}.1";

    public string AddressB => $"10.213.{SubnetOctet}.2";

    public string Vip => $"10.213.{SubnetOctet}.100";

    /// <summary>Null when the network is ready; otherwise why it could not be made.</summary>
    public string? Unavailable { get; private set; }

    public async Task InitializeAsync()
    {
        if (!OperatingSystem.IsLinux())
        {
            Unavailable = "network namespaces need Linux";
            return;
        }

        if (!Environment.IsPrivilegedProcess)
        {
            Unavailable = "raw VRRP tests need root (network namespaces, raw sockets); run them as root";
            return;
        }

        try
        {
            foreach (var ns in new[] { Bridge, A, B })
            {
                await Commands.RunCheckedAsync("ip", "netns", "add", ns);
                _created.Add(ns);
                await Commands.RunCheckedAsync("ip", "-n", ns, "link", "set", "lo", "up");
            }

            await Commands.RunCheckedAsync("ip", "-n", Bridge, "link", "add", "br0", "type", "bridge");
            await Commands.RunCheckedAsync("ip", "-n", Bridge, "link", "set", "br0", "up");
            foreach (var (ns, iface, address, port) in new[] { (A, InterfaceA, AddressA, "to-a"), (B, InterfaceB, AddressB, "to-b") })
            {
                // Created straight between the two namespaces: no link ever appears in the host namespace.
                await Commands.RunCheckedAsync("ip", "-n", ns, "link", "add", iface, "type", "veth", "peer", "name", port, "netns", Bridge);
                await Commands.RunCheckedAsync("ip", "-n", Bridge, "link", "set", port, "master", "br0");
                await Commands.RunCheckedAsync("ip", "-n", Bridge, "link", "set", port, "up");
                await Commands.RunCheckedAsync("ip", "-n", ns, "addr", "add", address + "/24", "dev", iface);
                await Commands.RunCheckedAsync("ip", "-n", ns, "link", "set", iface, "up");
            }
        }
        catch (Exception ex)
        {
            Unavailable = $"could not create the test network namespaces: {ex.Message}";
            await DisposeAsync();
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var ns in Enumerable.Reverse(_created).ToList())
        {
            await Commands.RunAsync("ip", "netns", "del", ns);
            _created.Remove(ns);
        }
    }

    /// <summary>
    /// The CI rule: without root or namespaces a test fails in CI (CI set) and, on a developer machine, is
    /// reported as skipped with the reason. Returns true when the test should go on.
    /// </summary>
    public bool Check(ITestOutputHelper output) => CheckOrReport(Unavailable, output);

    /// <summary>See <see cref="Requirements.CheckOrReport"/>.</summary>
    public static bool CheckOrReport(string? unavailable, ITestOutputHelper output) => Requirements.CheckOrReport(unavailable, output);

    /// <summary>Runs <paramref name="action"/> on a new thread that has entered network namespace <paramref name="ns"/>.</summary>
    public static Task<T> InNamespaceAsync<T>(string ns, Func<T> action)
    {
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                // Return to our own namespace before the thread ends, though it ends right after anyway.
                using var original = File.OpenHandle("/proc/thread-self/ns/net");
                using var target = File.OpenHandle(Path.Combine("/var/run/netns", ns));
                SetNs(target);
                try
                {
                    result.SetResult(action());
                }
                finally
                {
                    SetNs(original);
                }
            }
            catch (Exception ex)
            {
                result.TrySetException(ex);
            }
        })
        {
            IsBackground = true,
            Name = "netns " + ns,
        };
        thread.Start();
        return result.Task;
    }

    private static void SetNs(Microsoft.Win32.SafeHandles.SafeFileHandle handle)
    {
        const int cloneNewNet = 0x40000000;
        if (NativeSetNs((int)handle.DangerousGetHandle(), cloneNewNet) != 0)
        {
            throw new InvalidOperationException($"setns failed with errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [DllImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static extern int NativeSetNs(int fd, int nstype);
}

/// <summary>Runs a command with an argument list (no shell) and collects its output.</summary>
internal static class Commands
{
    public static async Task<(int ExitCode, string Output)> RunAsync(string fileName, params string[] arguments)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish in 10 s");
        }

        var text = new StringBuilder().Append(await output).Append(await error).ToString();
        return (process.ExitCode, text);
    }

    public static async Task<string> RunCheckedAsync(string fileName, params string[] arguments)
    {
        var (exitCode, output) = await RunAsync(fileName, arguments);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)} exited {exitCode}: {output.Trim()}");
        }

        return output;
    }
}
