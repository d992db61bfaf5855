using System.Diagnostics;

namespace Strata.Tests.Dns;

/// <summary>Runs the real dig binary: interoperability with BIND's client is the point, so a missing dig fails.</summary>
internal static class Dig
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    /// <summary>Runs dig against 127.0.0.1:<paramref name="port"/> and returns its standard output.</summary>
    public static async Task<string> QueryAsync(int port, params string[] arguments)
    {
        var path = FindOnPath("dig")
            ?? throw new InvalidOperationException("dig is not installed: install the bind9-dnsutils package (apt-get install bind9-dnsutils)");

        var startInfo = new ProcessStartInfo(path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // One short try each: the server is local, and a hung test must not last long.
        foreach (var argument in (string[])["@127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "+time=3", "+tries=1", .. arguments])
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"{path} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException($"dig {string.Join(' ', arguments)} did not finish within {Timeout}");
        }

        var stdout = await output;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"dig {string.Join(' ', arguments)} exited with {process.ExitCode}: {stdout}{await error}");
        }

        return stdout;
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);
}
