using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Strata.Hosting.Processes;

/// <summary>
/// Starts child processes that the kernel kills when this process dies, even by SIGKILL, so a node never leaves
/// its child (the user's application, a database server) orphaned and holding its port.
/// </summary>
/// <remarks>
/// <para>
/// .NET cannot run code between fork and exec, so the child is started through util-linux
/// <c>setpriv --pdeathsig KILL -- PROGRAM ARGS</c>: setpriv sets <c>PR_SET_PDEATHSIG</c> (prctl(2)) and execs the
/// program in place, keeping the PID, so the child's PID is the program's.
/// </para>
/// <para>
/// The parent-death signal fires when the <em>thread</em> that forked the child exits, not the process, and
/// <see cref="Process.Start()"/> forks on the calling thread. From a thread-pool thread, the child would be
/// killed when the pool retires that thread after some idle seconds. Measured on .NET 10: a child started from
/// <c>Task.Run</c> was killed within 25 s of thread-pool churn (bursts of work, then idle); one started from a
/// dedicated thread lived through 200 s of the same churn and died with its parent. So every child is started
/// from one dedicated thread that lives as long as the process.
/// </para>
/// <para>
/// Only the direct child is covered: a program that forks workers of its own (gunicorn, mariadbd's helpers) must
/// watch for its own parent's death, as those servers do. Where setpriv is missing the child is started plainly
/// (<see cref="DiesWithParent"/> is false), and is only stopped by a graceful stop of the node.
/// </para>
/// </remarks>
public static partial class ChildProcesses
{
    private const int SigTerm = 15;

    /// <summary>Where setpriv is, or null when it is not installed.</summary>
    private static readonly string? Setpriv = Programs.Find("setpriv");

    private static readonly BlockingCollection<(Process Process, TaskCompletionSource Started)> Requests = [];

    private static readonly Lazy<Thread> Spawner = new(() =>
    {
        var thread = new Thread(Spawn) { IsBackground = true, Name = "Strata child spawner" };
        thread.Start();
        return thread;
    });

    /// <summary>Whether children started here die with this process (setpriv is installed).</summary>
    public static bool DiesWithParent => Setpriv is not null;

    /// <summary>
    /// A start description for <paramref name="program"/> with <paramref name="arguments"/>, through
    /// <c>setpriv --pdeathsig KILL</c> when it is installed; set its working directory, environment and
    /// redirections as usual, then start it with <see cref="StartAsync"/>.
    /// </summary>
    /// <exception cref="Win32Exception">The program is not found (as <see cref="Process.Start()"/> would say).</exception>
    public static ProcessStartInfo CreateStartInfo(string program, IEnumerable<string> arguments)
    {
        if (Setpriv is null)
        {
            var plain = new ProcessStartInfo(program) { UseShellExecute = false };
            foreach (var argument in arguments)
            {
                plain.ArgumentList.Add(argument);
            }

            return plain;
        }

        // setpriv looks the program up on the child's PATH; resolving it here keeps Process.Start's behaviour
        // (the node's PATH and directory) and its error for a missing program, instead of setpriv's exit code 127.
        var resolved = program.Contains('/', StringComparison.Ordinal)
            ? Path.GetFullPath(program)
            : Programs.Find(program);
        if (resolved is null || !File.Exists(resolved))
        {
            throw new Win32Exception(2, $"'{program}' was not found (No such file or directory)");
        }

        var startInfo = new ProcessStartInfo(Setpriv) { UseShellExecute = false };
        startInfo.ArgumentList.Add("--pdeathsig");
        startInfo.ArgumentList.Add("KILL");
        startInfo.ArgumentList.Add("--");
        startInfo.ArgumentList.Add(resolved);
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        return startInfo;
    }

    /// <summary>
    /// Starts <paramref name="process"/> (its <see cref="Process.StartInfo"/> made by <see cref="CreateStartInfo"/>)
    /// on the dedicated thread; completes once it has started, or with <see cref="Process.Start()"/>'s exception.
    /// </summary>
    public static Task StartAsync(Process process)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Spawner.Value;
        Requests.Add((process, started));
        return started.Task;
    }

    /// <summary>
    /// Stops <paramref name="process"/> gracefully: SIGTERM to its PID, SIGKILL (that PID only) if it is still there
    /// after <paramref name="grace"/>. Returns whether it had to be killed.
    /// </summary>
    public static async Task<bool> StopAsync(Process process, TimeSpan grace, TimeProvider time)
    {
        if (process.HasExited)
        {
            return false;
        }

        _ = SysKill(process.Id, SigTerm);
        using var timeout = new CancellationTokenSource(grace, time);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
            return false;
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: false);
            await process.WaitForExitAsync(CancellationToken.None);
            return true;
        }
    }

    private static void Spawn()
    {
        foreach (var (process, started) in Requests.GetConsumingEnumerable())
        {
            try
            {
                process.Start();
                started.SetResult();
            }
            catch (Exception ex)
            {
                started.SetException(ex);
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);
}
