using System.Diagnostics;
using System.Runtime.InteropServices;
using Strata.Hosting.Logs;

namespace Strata.Orchestration.Processes;

/// <summary>Starts node processes and signals them, always by the PID that was recorded, never by name.</summary>
internal static partial class NodeProcess
{
    private const int SigKill = 9;
    private const int SigTerm = 15;
    private const int SigUsr1 = 10;

    /// <summary>
    /// Starts <paramref name="command"/> in a session of its own (so that a Ctrl+C or a closed terminal reaches
    /// only the orchestrator, which then stops the nodes in order) with stdout and stderr appended to
    /// <paramref name="logPath"/>. The shell and setsid both exec, so the PID returned is the node's own.
    /// <paramref name="environment"/> is added to (or replaces in) the orchestrator's own environment.
    /// </summary>
    public static int Start(IReadOnlyList<string> command, string logPath, IReadOnlyDictionary<string, string>? environment = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        // SIGUSR1 reopens this file on the node (logrotate).
        start.Environment[LogReopening.NodeLogVariable] = Path.GetFullPath(logPath);
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("log=$1; shift; exec setsid \"$@\" >>\"$log\" 2>&1 </dev/null");
        start.ArgumentList.Add("strata-node");
        start.ArgumentList.Add(logPath);
        foreach (var argument in command)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {command[0]}");
        return process.Id;
    }

    /// <summary>
    /// Whether <paramref name="pid"/> is alive and still the node <paramref name="name"/>: its command line must
    /// name it, so that a PID reused by another program after the node died is never signalled.
    /// </summary>
    public static bool IsRunning(int pid, string name)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The state letter follows the parenthesised command name; Z is an exited process not yet reaped.
            var state = stat[(stat.LastIndexOf(')') + 2)..].FirstOrDefault();
            if (state is 'Z' or 'X')
            {
                return false;
            }

            var arguments = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
            return arguments.Contains(name, StringComparer.Ordinal)
                && arguments.Any(a => a.Contains("Strata", StringComparison.OrdinalIgnoreCase));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Whether a node this run has just started has exited. Unlike <see cref="IsRunning"/> it does not read the
    /// command line, which is briefly empty while the shell and setsid exec into the node.
    /// </summary>
    public static bool HasExited(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].FirstOrDefault() is 'Z' or 'X';
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return true;
        }
    }

    /// <summary>How long the process has run (its start time in /proc, as .NET reads it); null once it is gone.</summary>
    public static TimeSpan? Uptime(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return DateTime.Now - process.StartTime;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Asks the node to stop (SIGTERM): it stops listening and finishes in-flight requests.</summary>
    public static void Terminate(int pid) => Signal(pid, SigTerm);

    /// <summary>Has the node reopen its log files (SIGUSR1, handled by every node: LogReopening).</summary>
    public static void ReopenLogs(int pid) => Signal(pid, SigUsr1);

    /// <summary>Kills the node at once (SIGKILL), as a crash would.</summary>
    public static void Kill(int pid) => Signal(pid, SigKill);

    /// <summary>Waits until every node in <paramref name="nodes"/> has exited; false on timeout.</summary>
    public static async Task<bool> WaitForExitAsync(IEnumerable<(int Pid, string Name)> nodes, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (nodes.Any(n => IsRunning(n.Pid, n.Name)))
        {
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }

    private static void Signal(int pid, int signal)
    {
        if (SysKill(pid, signal) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            const int NoSuchProcess = 3;
            if (errno != NoSuchProcess)
            {
                throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {errno}");
            }
        }
    }

    // Process.Kill only sends SIGKILL; a graceful stop needs SIGTERM.
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);
}
