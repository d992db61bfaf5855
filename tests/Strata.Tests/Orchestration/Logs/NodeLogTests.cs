using System.Text;
using Strata.Orchestration.Logs;
using Strata.Tests.Common;

namespace Strata.Tests.Orchestration.Logs;

/// <summary><c>strata logs</c>: a node's last lines, and following its log across a rotation as <c>tail -F</c> does.</summary>
public sealed class NodeLogTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("strata-logs-").FullName;

    private string Log => Path.Combine(_dir, "web-1.log");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(3, "line 8\nline 9\nline 10\n")]
    [InlineData(1, "line 10\n")]
    [InlineData(0, "")]
    [InlineData(50, null)]
    public void LastLines_TenLines_TheLastOnesAndTheEnd(int count, string? expected)
    {
        var all = string.Concat(Enumerable.Range(1, 10).Select(i => $"line {i}\n"));
        File.WriteAllText(Log, all);

        var (text, end) = NodeLog.LastLines(Log, count);

        Assert.Equal(expected ?? all, text);
        Assert.Equal(all.Length, end);
    }

    [Fact]
    public void LastLines_UnfinishedLastLine_CountsAsALine()
    {
        File.WriteAllText(Log, "one\ntwo\nthree");

        Assert.Equal("two\nthree", NodeLog.LastLines(Log, 2).Text);
    }

    [Fact]
    public void LastLines_LinesAcrossManyBlocks_ExactlyTheLastOnes()
    {
        // Lines longer than the 8 KiB block, and many of them: the backwards read crosses blocks inside lines.
        var lines = Enumerable.Range(0, 40).Select(i => new string((char)('a' + i % 26), 3000 + i * 97)).ToList();
        File.WriteAllText(Log, string.Join('\n', lines) + "\n");

        var text = NodeLog.LastLines(Log, 7).Text;

        Assert.Equal(string.Join('\n', lines.TakeLast(7)) + "\n", text);
    }

    [Fact]
    public async Task Follow_AppendedRotatedAndTruncated_PrintsEveryNewLineOnce()
    {
        File.WriteAllText(Log, "before\n");
        var output = new CapturedText();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var follow = NodeLog.FollowAsync(Log, new FileInfo(Log).Length, output, stop.Token);
        try
        {
            await AppendAsync(Log, "appended\n");
            Assert.True(await Eventually.TrueAsync(() => Task.FromResult(output.Text == "appended\n")), output.Text);

            // logrotate's create: the file moved away (the node still writes there until it reopens), a new one made.
            File.Move(Log, Log + ".1");
            await AppendAsync(Log + ".1", "last in the old file\n");
            await AppendAsync(Log, "first in the new file\n");
            Assert.True(
                await Eventually.TrueAsync(() => Task.FromResult(output.Text == "appended\nlast in the old file\nfirst in the new file\n")), output.Text);

            // copytruncate: the same file emptied, then written from its start.
            await File.WriteAllTextAsync(Log, "");
            await Task.Delay(500);
            await AppendAsync(Log, "after truncation\n");
            Assert.True(await Eventually.TrueAsync(() => Task.FromResult(output.Text.EndsWith("first in the new file\nafter truncation\n", StringComparison.Ordinal))), output.Text);
        }
        finally
        {
            await stop.CancelAsync();
            await follow;
        }

        Assert.DoesNotContain("before", output.Text);
    }

    [Fact]
    public async Task Follow_NoFileYet_ReadsItFromItsStartWhenItAppears()
    {
        var output = new CapturedText();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var follow = NodeLog.FollowAsync(Log, 0, output, stop.Token);
        await Task.Delay(300);

        await AppendAsync(Log, "first line\n");

        Assert.True(await Eventually.TrueAsync(() => Task.FromResult(output.Text == "first line\n")), output.Text);
        await stop.CancelAsync();
        await follow;
    }

    private static async Task AppendAsync(string path, string text)
    {
        await using var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        await file.WriteAsync(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>A writer the follower writes to on its own task while the test reads what it wrote.</summary>
    private sealed class CapturedText : TextWriter
    {
        private readonly StringBuilder _text = new();

        public override Encoding Encoding => Encoding.UTF8;

        public string Text
        {
            get
            {
                lock (_text)
                {
                    return _text.ToString();
                }
            }
        }

        public override void Write(char value)
        {
            lock (_text)
            {
                _text.Append(value);
            }
        }

        public override void Write(char[] buffer, int index, int count)
        {
            lock (_text)
            {
                _text.Append(buffer, index, count);
            }
        }
    }
}
