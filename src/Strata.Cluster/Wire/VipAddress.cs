// Why this file exists: the VRRP master must hold the virtual IP on its interface and announce it
// (RFC 5798 §6.4.1, §6.4.2), and a backup must drop it. We do it the way operators do, with iproute2
// (`ip addr add|del VIP/32 dev IFACE`) in the current network namespace, started as a process with an
// argument list (no shell). Gratuitous ARP uses `arping -U` from iputils-arping when it is installed; when it
// is not, ARP is skipped (neighbours learn the new MAC on their next ARP request) and the result says so.
using System.Diagnostics;
using System.Net;

namespace Strata.Cluster.Wire;

/// <summary>Adds and removes a virtual IPv4 address (/32) on an interface, and announces it with gratuitous ARP.</summary>
internal static class VipAddress
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Adds <paramref name="vip"/>/32 to <paramref name="interfaceName"/>; already present is fine.</summary>
    public static async Task AddAsync(IPAddress vip, string interfaceName, CancellationToken cancellationToken = default)
    {
        var (exitCode, error) = await RunAsync("ip", ["addr", "add", $"{vip}/32", "dev", interfaceName], cancellationToken).ConfigureAwait(false);
        if (exitCode != 0 && !error.Contains("File exists", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"ip addr add {vip}/32 dev {interfaceName} failed ({exitCode}): {error.Trim()}");
        }
    }

    /// <summary>Removes <paramref name="vip"/>/32 from <paramref name="interfaceName"/>; already absent is fine.</summary>
    public static async Task RemoveAsync(IPAddress vip, string interfaceName, CancellationToken cancellationToken = default)
    {
        var (exitCode, error) = await RunAsync("ip", ["addr", "del", $"{vip}/32", "dev", interfaceName], cancellationToken).ConfigureAwait(false);
        if (exitCode != 0 && !error.Contains("Cannot assign requested address", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"ip addr del {vip}/32 dev {interfaceName} failed ({exitCode}): {error.Trim()}");
        }
    }

    /// <summary>Whether <paramref name="vip"/>/32 is on <paramref name="interfaceName"/> now.</summary>
    public static async Task<bool> IsPresentAsync(IPAddress vip, string interfaceName, CancellationToken cancellationToken = default)
    {
        var (exitCode, output) = await RunAsync("ip", ["-4", "-o", "addr", "show", "dev", interfaceName], cancellationToken, stdout: true).ConfigureAwait(false);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"ip -4 -o addr show dev {interfaceName} failed ({exitCode}): {output.Trim()}");
        }

        return output.Contains($" {vip}/32 ", StringComparison.Ordinal);
    }

    /// <summary>
    /// Sends one gratuitous ARP for <paramref name="vip"/> out of <paramref name="interfaceName"/>. Returns false
    /// when <c>arping</c> is not installed (package iputils-arping): ARP is optional, so that is not an error.
    /// </summary>
    public static async Task<bool> SendGratuitousArpAsync(IPAddress vip, string interfaceName, CancellationToken cancellationToken = default)
    {
        if (!CommandExists("arping"))
        {
            return false;
        }

        var (exitCode, error) = await RunAsync("arping", ["-U", "-c", "1", "-I", interfaceName, vip.ToString()], cancellationToken).ConfigureAwait(false);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"arping -U -c 1 -I {interfaceName} {vip} failed ({exitCode}): {error.Trim()}");
        }

        return true;
    }

    private static bool CommandExists(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin";
        return path.Split(':', StringSplitOptions.RemoveEmptyEntries).Any(dir => File.Exists(Path.Combine(dir, name)));
    }

    /// <summary>Runs the command; returns its exit code and its standard error (or, with <paramref name="stdout"/>, its output).</summary>
    private static async Task<(int ExitCode, string Error)> RunAsync(string fileName, string[] arguments, CancellationToken cancellationToken, bool stdout = false)
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

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CommandTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish in {CommandTimeout.TotalSeconds} s.");
        }

        var text = await output.ConfigureAwait(false);
        var errorText = await error.ConfigureAwait(false);
        return (process.ExitCode, stdout && process.ExitCode == 0 ? text : errorText);
    }
}
