using Strata.Hosting.Processes;

namespace Strata.Tests.Common;

/// <summary>What a finished child process printed.</summary>
internal sealed record ProcessResult(int ExitCode, string Output, string Error);

/// <summary>Runs a real program to completion, killing it (by its own PID) if it outlives the limit.</summary>
internal static class ChildProcess
{
    public static async Task<ProcessResult> RunAsync(string path, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var result = await Programs.RunAsync(path, arguments, timeout);
        return new ProcessResult(result.ExitCode, result.Output, result.Error);
    }

    /// <summary>The full path of <paramref name="name"/> on PATH, or null.</summary>
    public static string? FindOnPath(string name) => Programs.Find(name);
}
