using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Strata.Hosting.Logs;

/// <summary>
/// SIGUSR1 reopens every log file of the node, as nginx's <c>USR1</c> does (logrotate's <c>postrotate</c>, or
/// <c>strata reopen-logs</c>): the node's own log (its stdout and stderr, which <c>strata up</c> appends to the file
/// named by <see cref="NodeLogVariable"/>) and each <see cref="LogFileWriter{TEntry}"/>'s file. Registered on every
/// node by <see cref="NodeHost.CreateBuilder"/>, so that the signal never ends a node (its default action would).
/// </summary>
public sealed partial class LogReopening(ILogger<LogReopening> logger) : IHostedService, IDisposable
{
    /// <summary>The environment variable naming the file the node's stdout and stderr are appended to.</summary>
    public const string NodeLogVariable = "STRATA_NODE_LOG";

    /// <summary>SIGUSR1 on Linux (x86-64 and arm64); .NET names no such <see cref="PosixSignal"/>, a raw number is accepted.</summary>
    private const PosixSignal Usr1 = (PosixSignal)10;

    private readonly Lock _lock = new();
    private readonly List<Action> _writers = [];
    private PosixSignalRegistration? _registration;

    /// <summary>Has <paramref name="writer"/> reopen its file on the signal.</summary>
    public void Register<TEntry>(LogFileWriter<TEntry> writer)
    {
        lock (_lock)
        {
            _writers.Add(writer.RequestReopen);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _registration = PosixSignalRegistration.Create(Usr1, context =>
        {
            context.Cancel = true;
            Reopen();
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _registration?.Dispose();

    /// <summary>Reopens the node's own log now and has every writer reopen its file at its next tick.</summary>
    public void Reopen()
    {
        var own = Environment.GetEnvironmentVariable(NodeLogVariable);
        if (!string.IsNullOrEmpty(own))
        {
            ReopenStandardOutput(own);
        }

        int count;
        lock (_lock)
        {
            count = _writers.Count;
            foreach (var reopen in _writers)
            {
                reopen();
            }
        }

        LogReopened(own ?? "-", count);
    }

    /// <summary>A writer could not open its path again: it keeps writing to the file it had.</summary>
    internal void Failed(string path, Exception error) => LogReopenFailed(path, error.Message);

    /// <summary>
    /// Points every file descriptor open on the node's log (1 and 2, and the duplicate of 1 that .NET's Console writes
    /// through) at <paramref name="path"/> opened anew for appending. By hand (libc open and dup2 over the descriptors
    /// /proc/self/fd shows on the same file): .NET cannot replace the descriptor under its Console streams.
    /// </summary>
    private void ReopenStandardOutput(string path)
    {
        const int WriteOnly = 0x1, Create = 0x40, Append = 0x400, CloseOnExec = 0x80000;
        var current = new FileInfo("/proc/self/fd/1").LinkTarget;
        if (current is null)
        {
            return;
        }

        var fd = Open(path, WriteOnly | Create | Append | CloseOnExec, Convert.ToInt32("644", 8));
        if (fd < 0)
        {
            LogReopenFailed(path, $"open failed: errno {Marshal.GetLastPInvokeError()}");
            return;
        }

        foreach (var entry in Directory.EnumerateFiles("/proc/self/fd"))
        {
            if (int.TryParse(System.IO.Path.GetFileName(entry), out var descriptor) && descriptor != fd && new FileInfo(entry).LinkTarget == current
                && (descriptor <= 2 ? Dup2(fd, descriptor) : Dup3(fd, descriptor, CloseOnExec)) < 0)
            {
                LogReopenFailed(path, $"dup2 over descriptor {descriptor} failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }

        Close(fd);
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "dup2", SetLastError = true)]
    private static partial int Dup2(int from, int to);

    // Keeps a duplicate's close-on-exec flag (dup2 clears it), so that children do not inherit it.
    [LibraryImport("libc", EntryPoint = "dup3", SetLastError = true)]
    private static partial int Dup3(int from, int to, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Reopened the log files after SIGUSR1: the node's log {Path} and {Count} request log(s)")]
    private partial void LogReopened(string path, int count);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Could not reopen {Path} after SIGUSR1, still writing to the file it had: {Reason}")]
    private partial void LogReopenFailed(string path, string reason);
}
