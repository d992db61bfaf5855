using System.Diagnostics;

namespace Strata.Hosting.Processes;

/// <summary>
/// Finding a program and running it to completion with an argument list (never a shell), bounded in time: what the
/// rooms that drive the system's own tools share (iproute2 and arping for the VIP and <c>--netns</c>,
/// mariadb-install-db for the managed database).
/// </summary>
public static class Programs
{
    /// <summary>The directories of PATH, or the usual ones when it is unset.</summary>
    public static IReadOnlyList<string> SearchPath =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);

    /// <summary>
    /// The full path of the first of <paramref name="names"/> found in a directory of PATH, then in
    /// <paramref name="extraDirectories"/> (sbin is not on every user's PATH); null when none is.
    /// </summary>
    public static string? Find(IEnumerable<string> names, params IReadOnlyList<string> extraDirectories)
    {
        IReadOnlyList<string> directories = [.. SearchPath, .. extraDirectories];
        foreach (var name in names)
        {
            foreach (var directory in directories)
            {
                var path = Path.Combine(directory, name);
                if (File.Exists(path))
                {
                    return path;
                }
            }
        }

        return null;
    }

    /// <inheritdoc cref="Find(IEnumerable{string}, IReadOnlyList{string})"/>
    public static string? Find(string name, params IReadOnlyList<string> extraDirectories) => Find([name], extraDirectories);

    /// <summary>
    /// Runs <paramref name="program"/> with <paramref name="arguments"/> until it exits and returns its exit code and
    /// what it wrote to standard output and standard error; its standard input is closed.
    /// </summary>
    /// <exception cref="TimeoutException">It ran longer than <paramref name="timeout"/>; it was killed.</exception>
    /// <exception cref="System.ComponentModel.Win32Exception">The program could not be started (not found).</exception>
    public static async Task<ProgramResult> RunAsync(string program, IEnumerable<string> arguments, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");

        // Nothing to read: a program that asks for input sees its end instead of waiting for it.
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{program} {string.Join(' ', start.ArgumentList)}' did not finish in {timeout.TotalSeconds:0} s");
        }

        return new ProgramResult(process.ExitCode, await output.ConfigureAwait(false), await error.ConfigureAwait(false));
    }
}

/// <summary>How a program run by <see cref="Programs.RunAsync"/> ended.</summary>
/// <param name="ExitCode">Its exit code (0: success).</param>
/// <param name="Output">What it wrote to standard output.</param>
/// <param name="Error">What it wrote to standard error.</param>
public readonly record struct ProgramResult(int ExitCode, string Output, string Error);
