using System.Buffers;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;

namespace Strata.Hosting.Logs;

/// <summary>
/// Appends log lines to a file off the request path (nginx's <c>access_log ... buffer=64k flush=1s</c>): requests
/// put entries in a bounded channel, one loop formats them and writes them through a buffered <see cref="FileStream"/>,
/// flushed when a second has passed since the last flush and at stop. The web node's access log and the load
/// balancer's request log are two of these.
/// </summary>
/// <remarks>
/// <para>When the channel is full (the disk cannot keep up) an entry is dropped and counted in <see cref="Dropped"/>
/// rather than slowing requests down. The file is closed only once the server has stopped (in
/// <see cref="StoppedAsync"/>, after Kestrel drained the requests in flight), so a graceful stop loses no line.</para>
/// <para>On <see cref="LogReopening"/>'s signal (SIGUSR1, logrotate's <c>postrotate</c>) the loop flushes and closes the
/// file and opens its path anew, as nginx does on <c>USR1</c>: lines written after a rotation go to the new file.</para>
/// </remarks>
public sealed class LogFileWriter<TEntry> : IHostedLifecycleService
{
    /// <summary>Entries waiting for the writer at most; beyond that they are dropped.</summary>
    public const int Capacity = 16 * 1024;

    /// <summary>Longest a written line stays in the buffer.</summary>
    public static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(1);

    /// <summary>How often the writer takes what requests queued, at most (when the last tick found nothing).</summary>
    public static readonly TimeSpan DrainInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// How often it does while requests come: each drain formats what a short tick gathered. At 130,000 requests/s a
    /// 100 ms tick formatted 13,000 lines at once, 3 ms during which a node on one core answered nobody (its p99 at
    /// 64 connections; measured with <c>perf sched</c>, docs/benchmarks.md), and came near the channel's capacity.
    /// </summary>
    public static readonly TimeSpan BusyDrainInterval = TimeSpan.FromMilliseconds(10);

    private readonly Channel<TEntry> _channel = NewChannel(Capacity);

    // Rehearse's: a channel of the same kind, whose code (generic over TEntry, compiled at first use) is the queue's.
    private readonly Lazy<Channel<TEntry>> _rehearsal = new(() => NewChannel(1));

    private readonly ILogLineFormat<TEntry> _format;
    private readonly TimeProvider _time;
    private readonly LogReopening? _reopening;
    private Task _loop = Task.CompletedTask;
    private long _dropped;
    private int _reopenRequested;

    /// <param name="path">The file, created with its directory if missing; appended to.</param>
    /// <param name="format">How an entry becomes a line.</param>
    /// <param name="time">The clock of the flush interval.</param>
    /// <param name="reopening">The node's reopen signal, or null when the file is never reopened (tests).</param>
    public LogFileWriter(string path, ILogLineFormat<TEntry> format, TimeProvider time, LogReopening? reopening)
    {
        Path = path;
        _format = format;
        _time = time;
        _reopening = reopening;
    }

    /// <summary>The file written to.</summary>
    public string Path { get; }

    /// <summary>Entries dropped because the channel was full or the writer had stopped.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Queues <paramref name="entry"/>, or drops and counts it; never waits.</summary>
    public void TryWrite(in TEntry entry)
    {
        if (!_channel.Writer.TryWrite(entry))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>
    /// Formats <paramref name="entry"/> and drops the line: a node's warm-up request (<see cref="WarmUp.NodeWarmUp"/>) runs
    /// the code a client's will, so it is compiled before the first client's, and is not logged.
    /// </summary>
    public void Rehearse(in TEntry entry)
    {
        var channel = _rehearsal.Value;
        lock (channel)
        {
            if (channel.Writer.TryWrite(entry) && channel.Reader.TryRead(out var queued))
            {
                _format.Write(queued, new ArrayBufferWriter<byte>(512));
            }
        }
    }

    /// <summary><see cref="TryWrite(in TEntry)"/>, or only <see cref="Rehearse"/> for a node's warm-up request.</summary>
    public void TryWrite(in TEntry entry, bool warmUp)
    {
        if (warmUp)
        {
            Rehearse(entry);
        }
        else
        {
            TryWrite(entry);
        }
    }

    private static Channel<TEntry> NewChannel(int capacity) =>
        Channel.CreateBounded<TEntry>(new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });

    /// <summary>Opens the file, creating its directory, before the server takes requests: a bad path fails the start.</summary>
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        var file = Open();
        _reopening?.Register(this);
        _loop = Task.Run(() => WriteLoopAsync(file), CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>After every hosted service, the server included, has stopped: writes what is queued and closes the file.</summary>
    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        _channel.Writer.TryComplete();
        await _loop.WaitAsync(cancellationToken);
    }

    /// <summary>Has the loop close the file and open its path again at its next tick (within <see cref="DrainInterval"/>).</summary>
    internal void RequestReopen() => Volatile.Write(ref _reopenRequested, 1);

    private FileStream Open()
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        return new FileStream(Path, new FileStreamOptions
        {
            Mode = FileMode.Append,
            Access = FileAccess.Write,
            Share = FileShare.ReadWrite | FileShare.Delete,
            BufferSize = 64 * 1024,
        });
    }

    private async Task WriteLoopAsync(FileStream file)
    {
        var reader = _channel.Reader;
        var line = new ArrayBufferWriter<byte>(1024);
        var lastFlush = _time.GetTimestamp();
        var buffered = false;
        // Drained on a tick, not woken per entry: waking the writer for every request cost the web node a thread
        // pool hop per request (docs/benchmarks.md, "Performance work"); a short one while requests come.
        using var tick = new PeriodicTimer(DrainInterval, _time);
        var completed = false;
        try
        {
            while (!completed)
            {
                completed = reader.Completion.IsCompleted || !await tick.WaitForNextTickAsync();
                if (Interlocked.Exchange(ref _reopenRequested, 0) == 1)
                {
                    file = await ReopenAsync(file);
                }

                var drained = false;
                while (reader.TryRead(out var entry))
                {
                    _format.Write(entry, line);
                    file.Write(line.WrittenSpan);
                    line.ResetWrittenCount();
                    drained = true;
                }

                buffered |= drained;
                var period = drained ? BusyDrainInterval : DrainInterval;
                if (tick.Period != period)
                {
                    tick.Period = period;
                }

                completed |= reader.Completion.IsCompleted;
                if (buffered && (completed || _time.GetElapsedTime(lastFlush) >= FlushInterval))
                {
                    await file.FlushAsync();
                    lastFlush = _time.GetTimestamp();
                    buffered = false;
                }
            }
        }
        finally
        {
            await file.DisposeAsync();
        }
    }

    /// <summary>Flushes and closes <paramref name="file"/> and opens the path again; if that fails, keeps writing to the old one and says why.</summary>
    private async Task<FileStream> ReopenAsync(FileStream file)
    {
        await file.FlushAsync();
        FileStream reopened;
        try
        {
            reopened = Open();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _reopening?.Failed(Path, ex);
            return file;
        }

        await file.DisposeAsync();
        return reopened;
    }
}
