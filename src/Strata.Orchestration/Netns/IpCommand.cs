using Strata.Hosting.Processes;

namespace Strata.Orchestration.Netns;

/// <summary>Runs iproute2's <c>ip</c> and <c>bridge</c> with an argument list (never a shell), bounded in time.</summary>
internal static class IpCommand
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>Runs the command; its exit code and its output (stdout, then stderr).</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(params string[] command)
    {
        var result = await Programs.RunAsync(command[0], command.Skip(1), Timeout);
        return (result.ExitCode, result.Output + result.Error);
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
