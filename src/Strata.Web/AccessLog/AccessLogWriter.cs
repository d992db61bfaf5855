using System.Buffers;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;

namespace Strata.Web.AccessLog;

/// <summary>
/// Appends access log lines to a file off the request path (nginx's <c>access_log ... buffer=64k flush=1s</c>):
/// requests put entries in a bounded channel, one loop formats them and writes them through a buffered
/// <see cref="FileStream"/>, flushed when a second has passed since the last flush and at stop.
/// </summary>
/// <remarks>
/// When the channel is full (the disk cannot keep up) an entry is dropped and counted in <see cref="Dropped"/>
/// rather than slowing requests down. The file is closed only once the server has stopped (in
/// <see cref="StoppedAsync"/>, after Kestrel drained the requests in flight), so a graceful stop loses no line.
/// </remarks>
internal sealed class AccessLogWriter(string path, IAccessLogFormat format, TimeProvider time) : IHostedLifecycleService
{
    /// <summary>Entries waiting for the writer at most; beyond that they are dropped.</summary>
    public const int Capacity = 16 * 1024;

    /// <summary>Longest a written line stays in the buffer.</summary>
    public static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(1);

    /// <summary>How often the writer takes what requests queued.</summary>
    public static readonly TimeSpan DrainInterval = TimeSpan.FromMilliseconds(100);

    private readonly Channel<AccessLogEntry> _channel = Channel.CreateBounded<AccessLogEntry>(
        new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });

    private Task _loop = Task.CompletedTask;
    private long _dropped;

    /// <summary>The file written to.</summary>
    public string Path { get; } = path;

    /// <summary>Entries dropped because the channel was full or the writer had stopped.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Queues <paramref name="entry"/>, or drops and counts it; never waits.</summary>
    public void TryWrite(in AccessLogEntry entry)
    {
        if (!_channel.Writer.TryWrite(entry))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>Opens the file, creating its directory, before the server takes requests: a bad path fails the start.</summary>
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        var file = new FileStream(Path, new FileStreamOptions
        {
            Mode = FileMode.Append,
            Access = FileAccess.Write,
            Share = FileShare.ReadWrite | FileShare.Delete,
            BufferSize = 64 * 1024,
        });
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

    private async Task WriteLoopAsync(FileStream file)
    {
        await using var _ = file;
        var reader = _channel.Reader;
        var line = new ArrayBufferWriter<byte>(1024);
        var lastFlush = time.GetTimestamp();
        var buffered = false;
        // Drained on a tick, not woken per entry: waking the writer for every request cost the web node a thread
        // pool hop per request (docs/benchmarks.md, "Performance work").
        using var tick = new PeriodicTimer(DrainInterval, time);
        var completed = false;
        while (!completed)
        {
            completed = reader.Completion.IsCompleted || !await tick.WaitForNextTickAsync();
            while (reader.TryRead(out var entry))
            {
                format.Write(entry, line);
                file.Write(line.WrittenSpan);
                line.ResetWrittenCount();
                buffered = true;
            }

            completed |= reader.Completion.IsCompleted;
            if (buffered && (completed || time.GetElapsedTime(lastFlush) >= FlushInterval))
            {
                await file.FlushAsync();
                lastFlush = time.GetTimestamp();
                buffered = false;
            }
        }
    }
}
