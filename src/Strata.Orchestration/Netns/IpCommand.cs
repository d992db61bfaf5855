using System.Diagnostics;

namespace Strata.Orchestration.Netns;

/// <summary>Runs iproute2's <c>ip</c> and <c>bridge</c> with an argument list (never a shell), bounded in time.</summary>
internal static class IpCommand
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>Runs the command; its exit code and its output (stdout, then stderr).</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(params string[] command)
    {
        var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in command.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {command[0]}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException($"'{string.Join(' ', command)}' did not finish in {Timeout.TotalSeconds:0} s");
        }

        return (process.ExitCode, (await output) + (await error));
    }

    /// <summary>Runs the command; throws with its output when it fails.</summary>
    public static async Task<string> CheckedAsync(params string[] command)
    {
        var (exitCode, output) = await RunAsync(command);
        return exitCode == 0
            ? output
            : throw new InvalidOperationException($"'{string.Join(' ', command)}' failed ({exitCode}): {output.Trim()}");
    }
}
