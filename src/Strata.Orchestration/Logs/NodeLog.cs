using System.Text;

namespace Strata.Orchestration.Logs;

/// <summary>
/// A node's own log read as <c>tail</c> reads a file: its last lines, then (<see cref="FollowAsync"/>) what is written
/// next, across a rotation — the file moved or deleted and a new one created under its name, as <c>tail -F</c> follows
/// it — and a truncation (logrotate's <c>copytruncate</c>). Written by hand: .NET has no tail, and polling five times a
/// second is what <c>tail -F</c> itself falls back to where it cannot watch.
/// </summary>
internal static class NodeLog
{
    private const int BlockSize = 8192;

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The last <paramref name="count"/> lines of the file as written (an unfinished last line included, as tail prints
    /// it) and the file's length then, where following goes on.
    /// </summary>
    public static (string Text, long End) LastLines(string path, int count)
    {
        using var stream = Open(path);
        var end = stream.Length;
        var start = StartOfLastLines(stream, end, count);
        var bytes = new byte[end - start];
        stream.Position = start;
        stream.ReadExactly(bytes);
        return (Encoding.UTF8.GetString(bytes), end);
    }

    /// <summary>The last <paramref name="count"/> lines as a list, empty ones left out; none when the file does not exist.</summary>
    public static IReadOnlyList<string> Lines(string path, int count) =>
        File.Exists(path) ? LastLines(path, count).Text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToList() : [];

    /// <summary>
    /// Writes to <paramref name="output"/> what is appended to <paramref name="path"/> from <paramref name="from"/> on,
    /// until <paramref name="stop"/>. A file that does not exist yet is waited for and read from its start; one moved
    /// away is read to its end before the new one is opened; a truncated one is read again from its start.
    /// </summary>
    public static async Task FollowAsync(string path, long from, TextWriter output, CancellationToken stop)
    {
        var decoder = Encoding.UTF8.GetDecoder();
        var bytes = new byte[BlockSize];
        var chars = new char[Encoding.UTF8.GetMaxCharCount(BlockSize)];
        var stream = TryOpen(path);
        var opened = stream is null ? null : Identity(stream);
        if (stream is not null)
        {
            stream.Position = Math.Min(from, stream.Length);
        }

        try
        {
            while (!stop.IsCancellationRequested)
            {
                if (stream is not null)
                {
                    if (stream.Length < stream.Position)
                    {
                        stream.Position = 0;
                    }

                    Copy(stream);
                    if (Identity(stream) == opened || TryOpen(path) is not { } replacement)
                    {
                        await WaitAsync();
                        continue;
                    }

                    // Moved or deleted, and a new file has the name: the old one's last lines first.
                    Copy(stream);
                    await stream.DisposeAsync();
                    decoder.Reset();
                    stream = replacement;
                    opened = Identity(stream);
                }
                else if ((stream = TryOpen(path)) is not null)
                {
                    opened = Identity(stream);
                }
                else
                {
                    await WaitAsync();
                }
            }
        }
        finally
        {
            stream?.Dispose();
        }

        void Copy(FileStream file)
        {
            int read;
            while ((read = file.Read(bytes)) > 0)
            {
                output.Write(chars, 0, decoder.GetChars(bytes, 0, read, chars, 0));
            }

            output.Flush();
        }

        async Task WaitAsync()
        {
            try
            {
                await Task.Delay(PollInterval, stop);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>Where the last <paramref name="count"/> lines begin: reads back from the end a block at a time.</summary>
    private static long StartOfLastLines(FileStream stream, long end, int count)
    {
        if (count <= 0)
        {
            return end;
        }

        var buffer = new byte[BlockSize];
        var found = 0;
        var position = end;
        while (position > 0)
        {
            var length = (int)Math.Min(BlockSize, position);
            position -= length;
            stream.Position = position;
            stream.ReadExactly(buffer, 0, length);
            for (var i = length - 1; i >= 0; i--)
            {
                // The newline at the very end closes the last line; it does not begin an empty one.
                if (buffer[i] == '\n' && position + i != end - 1 && ++found == count)
                {
                    return position + i + 1;
                }
            }
        }

        return 0;
    }

    private static FileStream Open(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);

    private static FileStream? TryOpen(string path)
    {
        try
        {
            return Open(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// Where the open file is now, as the kernel names it (/proc/self/fd): its path while it stays, another once it is
    /// moved, the path and " (deleted)" once it is removed. Compared with itself, so a path through a symbolic link is
    /// no change.
    /// </summary>
    private static string? Identity(FileStream stream) =>
        new FileInfo($"/proc/self/fd/{stream.SafeFileHandle.DangerousGetHandle()}").LinkTarget;
}
