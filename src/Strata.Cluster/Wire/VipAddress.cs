// Why this file exists: the VRRP master must hold the virtual IP on its interface and announce it
// (RFC 5798 §6.4.1, §6.4.2), and a backup must drop it. We do it the way operators do, with iproute2
// (`ip addr add|del VIP/32 dev IFACE`) in the current network namespace, started as a process with an
// argument list (no shell). Gratuitous ARP uses `arping -U` from iputils-arping when it is installed; when it
// is not, ARP is skipped (neighbours learn the new MAC on their next ARP request) and the result says so.
using System.Net;
using Strata.Hosting.Processes;

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
        if (Programs.Find("arping") is null)
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

    /// <summary>Runs the command; returns its exit code and its standard error (or, with <paramref name="stdout"/>, its output).</summary>
    private static async Task<(int ExitCode, string Error)> RunAsync(string fileName, string[] arguments, CancellationToken cancellationToken, bool stdout = false)
    {
        var result = await Programs.RunAsync(fileName, arguments, CommandTimeout, cancellationToken).ConfigureAwait(false);
        return (result.ExitCode, stdout && result.ExitCode == 0 ? result.Output : result.Error);
    }
}
