using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Strata.Database.Server;
using Strata.Hosting.Processes;
using Strata.Tests.Common;
using Strata.Tests.Database;
using Xunit.Abstractions;

namespace Strata.Tests.EndToEnd;

/// <summary>
/// <c>strata backup</c> and <c>strata restore</c> on a running topology with its managed database, through the site as its
/// users see it: a backup taken while clients write (none of their writes fails), then restored while the app nodes run
/// on — the rows of the backup's moment are back, those written after it are gone, the site serves; a changed backup is
/// refused and changes nothing; a failed dump keeps nothing.
/// </summary>
public sealed class BackupEndToEndTests(BackupEndToEndTests.Topology topology, ITestOutputHelper output) : IClassFixture<BackupEndToEndTests.Topology>
{
    private EndToEndRun Run => topology.Run;

    [SkippableFact]
    public async Task Backup_WhileClientsWrite_RestoreBringsBackItsMomentAndTheSiteServes()
    {
        MariaDbRequirement.Check(output);
        var before = await PostManyAsync("before backup", 20);

        // Two clients write one message after another while the backup runs; each one's sequence is kept in order.
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        var writers = Enumerable.Range(0, 2).Select(w => new Writer(this, w)).ToList();
        var writing = writers.Select(w => w.RunAsync(stop.Token)).ToList();
        await UntilAsync(() => writers.All(w => w.Acknowledged.Count >= 20), stop.Token);
        var atStart = writers.Select(w => w.Acknowledged.Count).ToList();
        var folder = Path.Combine(Run.Directory, "backup of the guestbook");
        var backup = await Run.StrataAsync("backup", "-o", folder);
        var atEnd = writers.Select(w => w.Acknowledged.Count).ToList();
        await UntilAsync(() => writers.Select((w, i) => w.Acknowledged.Count >= atEnd[i] + 20).All(x => x), stop.Token);
        await stop.CancelAsync();
        await Task.WhenAll(writing);
        output.WriteLine(backup.Output.Trim());
        output.WriteLine($"writers acknowledged {string.Join(", ", writers.Select(w => w.Acknowledged.Count))}; the backup ran from {string.Join("/", atStart)} to {string.Join("/", atEnd)}");
        Assert.All(writers, w => Assert.True(w.Failures.IsEmpty, $"writes failed while the backup ran: {string.Join("; ", w.Failures.Take(5))}"));

        var manifest = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(folder, "manifest.json")))!;
        Assert.Equal(("db-1", "foobar", "foobar.sql"), (manifest["sourceNode"]!.GetValue<string>(), manifest["database"]!.GetValue<string>(), manifest["dump"]!["file"]!.GetValue<string>()));
        Assert.Matches("^[0-9]+-[0-9]+-[0-9]+(,[0-9]+-[0-9]+-[0-9]+)*$", manifest["gtidPosition"]!.GetValue<string>());
        Assert.Equal(new FileInfo(Path.Combine(folder, "foobar.sql")).Length, manifest["dump"]!["size"]!.GetValue<long>());
        Assert.Empty(Directory.GetDirectories(Run.Directory, ".*partial*"));

        var after = await PostManyAsync("after backup", 10);
        var restore = await Run.StrataAsync("restore", folder);
        output.WriteLine(restore.Output.Trim());
        Assert.Contains("db-2 (replica) has replayed it", restore.Output + restore.Error, StringComparison.Ordinal);

        // Read through the site: what the backup's snapshot held, and nothing written after it.
        var rows = await ReadThroughSiteAsync();
        Assert.All(before, text => Assert.Contains(text, rows));
        Assert.All(after, text => Assert.DoesNotContain(text, rows));
        for (var w = 0; w < writers.Count; w++)
        {
            // One snapshot: of each client's sequence, a prefix — all it wrote before the backup began, nothing it wrote after it ended.
            var sequence = writers[w].Acknowledged.ToList();
            var kept = sequence.TakeWhile(rows.Contains).Count();
            Assert.True(sequence.Skip(kept).All(text => !rows.Contains(text)), $"writer {w}: its rows after the backup are not all gone, or the restored rows are not a prefix");
            Assert.InRange(kept, atStart[w], atEnd[w] + 1);
        }

        using (var home = await Run.GetAsync("/"))
        {
            Assert.Equal(HttpStatusCode.OK, home.StatusCode);
        }

        var fresh = await PostManyAsync("after restore", 1);
        Assert.Contains(fresh[0], await ReadThroughSiteAsync());
    }

    [SkippableFact]
    public async Task Restore_BackupChangedByOneByte_RefusedWithExit1AndTheDataUntouched()
    {
        MariaDbRequirement.Check(output);
        await PostManyAsync("before the backup to tamper", 3);
        var folder = Path.Combine(Run.Directory, "tampered");
        await Run.StrataAsync("backup", "-o", folder);
        var later = await PostManyAsync("written after the backup to tamper", 3);
        var dump = Path.Combine(folder, "foobar.sql");
        var bytes = await File.ReadAllBytesAsync(dump);
        var at = bytes.Length / 2;
        bytes[at] = (byte)(bytes[at] == (byte)'x' ? 'y' : 'x');
        await File.WriteAllBytesAsync(dump, bytes);
        var rowsBefore = await ReadThroughSiteAsync();

        var result = await StrataCli.RunAsync("restore", folder, "-f", Run.TopologyPath);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("does not match its manifest", result.Error, StringComparison.Ordinal);
        Assert.Contains("nothing restored", result.Error, StringComparison.Ordinal);
        var rowsAfter = await ReadThroughSiteAsync();
        Assert.Equal(rowsBefore.Order(StringComparer.Ordinal), rowsAfter.Order(StringComparer.Ordinal));
        Assert.All(later, text => Assert.Contains(text, rowsAfter));
    }

    [SkippableFact]
    public async Task Backup_MariadbDumpFails_Exit1WithItsMessageAndNothingKept()
    {
        MariaDbRequirement.Check(output);
        // A mariadb-dump that writes half a dump and fails, found first on PATH.
        var bin = Directory.CreateDirectory(Path.Combine(Run.Directory, "failing-bin")).FullName;
        var fake = Path.Combine(bin, "mariadb-dump");
        await File.WriteAllTextAsync(fake, """
            #!/bin/sh
            for a in "$@"; do case "$a" in --result-file=*) printf 'CREATE TABLE half' > "${a#--result-file=}";; esac; done
            echo "mariadb-dump: Got error: 2013: Lost connection to server during query when dumping table messages" >&2
            exit 2
            """);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var folder = Path.Combine(Run.Directory, "failed");

        var result = await StrataCli.RunWithPathFirstAsync(bin, TimeSpan.FromSeconds(60), "backup", "-o", folder, "-f", Run.TopologyPath);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal(
            "strata: backup of db-1 failed, nothing kept: mariadb-dump failed (exit code 2): mariadb-dump: Got error: 2013: Lost connection to server during query when dumping table messages",
            result.Error.Trim());
        Assert.False(Directory.Exists(folder));
        Assert.Empty(Directory.GetDirectories(Run.Directory, ".failed*"));
    }

    /// <summary>POSTs <paramref name="count"/> messages with unique texts through the VIP, each answered 201; their texts.</summary>
    private async Task<List<string>> PostManyAsync(string what, int count)
    {
        var texts = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var text = $"{what} {i} {Guid.NewGuid():N}";
            using var response = await Run.Client.PostAsJsonAsync(new Uri(Run.Site, "/api/messages"), new { author = "backup e2e", text });
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            texts.Add(text);
        }

        return texts;
    }

    /// <summary>Every message text the site lists, page by page (GET /api/messages?before=ID&amp;limit=100).</summary>
    private async Task<HashSet<string>> ReadThroughSiteAsync()
    {
        var texts = new HashSet<string>(StringComparer.Ordinal);
        long? before = null;
        while (true)
        {
            var page = (await Run.Client.GetFromJsonAsync<JsonArray>(new Uri(Run.Site, $"/api/messages?limit=100{(before is { } id ? $"&before={id}" : "")}")))!;
            if (page.Count == 0)
            {
                return texts;
            }

            foreach (var message in page)
            {
                texts.Add(message!["text"]!.GetValue<string>());
            }

            before = page.Min(m => m!["id"]!.GetValue<long>());
        }
    }

    private static async Task UntilAsync(Func<bool> condition, CancellationToken stop)
    {
        while (!condition())
        {
            Assert.False(stop.IsCancellationRequested, "the writers did not get far enough in time");
            await Task.Delay(20, CancellationToken.None);
        }
    }

    /// <summary>One client writing messages one after another through the VIP until stopped, recording what was acknowledged, in order.</summary>
    private sealed class Writer(BackupEndToEndTests test, int number)
    {
        public ConcurrentQueue<string> Acknowledged { get; } = new();

        public ConcurrentQueue<string> Failures { get; } = new();

        public async Task RunAsync(CancellationToken stop)
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var text = $"writer {number} message {i} {Guid.NewGuid():N}";
                try
                {
                    using var response = await test.Run.Client.PostAsJsonAsync(new Uri(test.Run.Site, "/api/messages"), new { author = "backup e2e", text }, CancellationToken.None);
                    if (response.StatusCode == HttpStatusCode.Created)
                    {
                        Acknowledged.Enqueue(text);
                    }
                    else
                    {
                        Failures.Enqueue($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(CancellationToken.None)}");
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    Failures.Enqueue($"{ex.GetType().Name}: {ex.Message}");
                }
            }
        }
    }

    /// <summary>
    /// The topology the tests share (<c>strata up --detach</c> once, on ports of its own), with the managed database's two
    /// nodes: the primary (found as the one node that accepts writes) and its replica, which replays a restore.
    /// </summary>
    public sealed class Topology : IAsyncLifetime
    {
        internal EndToEndRun Run { get; } = EndToEndRun.Create(json => json["database"] = new JsonObject
        {
            ["engine"] = "mysql",
            ["managed"] = true,
            ["nodes"] = new JsonArray([.. Enumerable.Range(1, 2).Select(i =>
            {
                var address = IPAddress.Parse($"127.0.4.{i}");
                return (JsonNode)new JsonObject
                {
                    ["name"] = $"db-{i}",
                    ["address"] = $"{address}:{FreePorts.Tcp(address)}",
                    ["management"] = $"{address}:{FreePorts.Tcp(address)}",
                };
            })]),
        });

        public async Task InitializeAsync()
        {
            try
            {
                MariaDbInstallation.Locate();
            }
            catch (DatabaseServerException)
            {
                // Each test says so (MariaDbRequirement).
                return;
            }

            await Run.StrataAsync(TimeSpan.FromSeconds(150), "up", "--detach");
        }

        public async Task DisposeAsync() => await Run.DisposeAsync();
    }
}
