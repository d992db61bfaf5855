using System.Globalization;
using Strata.Tests.Common;

namespace Strata.Tests.Dns;

/// <summary>Runs the real dig binary: interoperability with BIND's client is the point, so a missing dig fails.</summary>
internal static class Dig
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    /// <summary>Runs dig against 127.0.0.1:<paramref name="port"/> and returns its standard output.</summary>
    public static async Task<string> QueryAsync(int port, params string[] arguments)
    {
        var path = ChildProcess.FindOnPath("dig")
            ?? throw new InvalidOperationException("dig is not installed: install the bind9-dnsutils package (apt-get install bind9-dnsutils)");

        // One short try each: the server is local, and a hung test must not last long.
        var result = await ChildProcess.RunAsync(
            path, ["@127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "+time=3", "+tries=1", .. arguments], Timeout);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"dig {string.Join(' ', arguments)} exited with {result.ExitCode}: {result.Output}{result.Error}");
        }

        return result.Output;
    }
}
