using System.Net;
using Microsoft.Extensions.Time.Testing;
using Strata.Tests.Common;
using Strata.Topology;
using Strata.Web.Static;
using static Strata.Tests.Web.Static.StaticSiteHost;

namespace Strata.Tests.Web.Static;

/// <summary>
/// The hot-file cache: served from memory, bounded, and stale after a file changes on disk at most until the watcher
/// drops the entry or <see cref="WebSpec.RevalidateMs"/> has passed (with 0, never).
/// </summary>
public sealed class StaticSiteCacheTests
{
    /// <summary>A stat on every hit: a change is seen by the very next request, whether or not the watcher saw it yet.</summary>
    private static readonly WebSpec StatEveryHit = WebSpec.Default with { RevalidateMs = 0 };

    [Fact]
    public async Task Get_HotFile_ReadFromDiskOnce()
    {
        await using var host = await StartAsync();

        for (var i = 0; i < 3; i++)
        {
            using var response = await host.Client.GetAsync("/static/site.css");
            Assert.Equal("body { color: black; }", await response.Content.ReadAsStringAsync());
        }

        Assert.Equal(1, host.Files.DiskReads);
    }

    [Theory]
    [InlineData("body { color: white; }")]
    [InlineData("p{}")]
    public async Task Get_FileRewritten_NewContentAndETag(string newContent)
    {
        await using var host = await StartAsync(StatEveryHit);
        using var before = await host.Client.GetAsync("/static/site.css");
        Assert.Equal("body { color: black; }", await before.Content.ReadAsStringAsync());

        var path = host.Write("static/site.css", newContent);
        // Same length and a coarse clock must still count as a change.
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(5));

        using var after = await host.Client.GetAsync("/static/site.css");
        Assert.Equal(newContent, await after.Content.ReadAsStringAsync());
        Assert.NotEqual(before.Headers.ETag!.Tag, after.Headers.ETag!.Tag);
    }

    [Fact]
    public async Task Get_CompressedFileRewritten_RecompressedFromNewContent()
    {
        await using var host = await StartAsync(StatEveryHit);
        var request = () =>
        {
            var message = new HttpRequestMessage(HttpMethod.Get, "/static/app.3f2a9c1b.js");
            message.Headers.TryAddWithoutValidation("Accept-Encoding", "br");
            return message;
        };
        using var before = await host.Client.SendAsync(request());
        Assert.Equal(BigScript, Unbrotli(await before.Content.ReadAsByteArrayAsync()));

        var changed = BigScript.Replace("strata", "STRATA", StringComparison.Ordinal);
        host.Write("static/app.3f2a9c1b.js", changed);

        using var after = await host.Client.SendAsync(request());
        Assert.Equal(changed, Unbrotli(await after.Content.ReadAsByteArrayAsync()));
    }

    [Fact]
    public async Task FileChangedOnDisk_WatcherDropsTheEntryWithoutARequest()
    {
        await using var host = await StartAsync();
        using var response = await host.Client.GetAsync("/static/site.css");
        Assert.Equal(1, host.Files.Count);

        host.Write("static/site.css", "changed");

        Assert.True(await Eventually.TrueAsync(() => Task.FromResult(host.Files.Count == 0)));
        Assert.Equal(0, host.Files.Bytes);
    }

    [Fact]
    public async Task Get_FileDeleted_NoLongerServed()
    {
        await using var host = await StartAsync(StatEveryHit);
        using var before = await host.Client.GetAsync("/static/site.css");
        Assert.Equal(HttpStatusCode.OK, before.StatusCode);

        File.Delete(Path.Combine(host.Root, "static/site.css"));

        using var after = await host.Client.GetAsync("/static/site.css");
        Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
    }

    [Fact]
    public async Task Get_FileRewrittenDefaultWindow_NewContentSoon()
    {
        await using var host = await StartAsync();
        using var before = await host.Client.GetAsync("/static/site.css");

        host.Write("static/site.css", "p { color: red; }");

        // The watcher drops the entry at once in practice; the window only bounds a missed event.
        Assert.True(await Eventually.TrueAsync(async () =>
        {
            using var after = await host.Client.GetAsync("/static/site.css");
            return await after.Content.ReadAsStringAsync() == "p { color: red; }";
        }));
    }

    [Fact]
    public void Find_ChangeTheWatcherMissed_ServedUntilTheWindowEndsThenReloaded()
    {
        var root = Directory.CreateTempSubdirectory("strata-static-").FullName;
        try
        {
            var path = Path.Combine(root, "site.css");
            File.WriteAllText(path, "old");
            var time = new FakeTimeProvider();
            using var files = new HotFileCache(root, WebSpec.Default with { RevalidateMs = 1000 }, time, watch: false);
            var (_, first) = files.Find("/site.css");

            File.WriteAllText(path, "newer");
            time.Advance(TimeSpan.FromMilliseconds(999));
            var (_, within) = files.Find("/site.css");
            time.Advance(TimeSpan.FromMilliseconds(1));
            var (_, after) = files.Find("/site.css");

            Assert.Same(first, within);
            Assert.Equal("newer"u8.ToArray(), after!.Identity.Content);
            Assert.Equal(2, files.DiskReads);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Find_MissingPath_RememberedForTheWindowThenLookedUpAgain()
    {
        // nginx's open_file_cache_errors: a path found missing is not looked up again within the window.
        var root = Directory.CreateTempSubdirectory("strata-static-").FullName;
        try
        {
            var time = new FakeTimeProvider();
            using var files = new HotFileCache(root, WebSpec.Default with { RevalidateMs = 1000 }, time, watch: false);
            Assert.Equal(LookupKind.NotFound, files.Find("/late.css").Kind);

            File.WriteAllText(Path.Combine(root, "late.css"), "p {}");
            time.Advance(TimeSpan.FromMilliseconds(999));
            var within = files.Find("/late.css").Kind;
            var knownWithin = files.IsKnownMissing("/late.css");
            time.Advance(TimeSpan.FromMilliseconds(1));
            var after = files.Find("/late.css");

            Assert.Equal(LookupKind.NotFound, within);
            Assert.True(knownWithin);
            Assert.Equal(LookupKind.File, after.Kind);
            Assert.Equal("p {}"u8.ToArray(), after.File!.Identity.Content);
            Assert.False(files.IsKnownMissing("/late.css"));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Get_FileCreatedAfterA404_ServedAtOnce()
    {
        // The watcher forgets every missing path when anything under the root changes (the window here is a minute).
        await using var host = await StartAsync(WebSpec.Default with { RevalidateMs = 60_000 });
        using (var missing = await host.Client.GetAsync("/static/late.css"))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        host.Write("static/late.css", "p { color: red; }");

        Assert.True(await Eventually.TrueAsync(async () =>
        {
            using var after = await host.Client.GetAsync("/static/late.css");
            return after.StatusCode == HttpStatusCode.OK;
        }));
    }

    [Fact]
    public async Task Get_ManyFiles_CacheStaysWithinItsBudget()
    {
        await using var host = await StartAsync(WebSpec.Default with { MemoryCacheBytes = 8 * 1024, MemoryCacheMaxFileBytes = 2 * 1024 });
        for (var i = 0; i < 20; i++)
        {
            host.Write($"static/f{i}.txt", new string((char)('a' + i), 1500));
        }

        for (var i = 0; i < 20; i++)
        {
            using var response = await host.Client.GetAsync($"/static/f{i}.txt");
            Assert.Equal(new string((char)('a' + i), 1500), await response.Content.ReadAsStringAsync());
            Assert.True(host.Files.Bytes <= 8 * 1024, $"{host.Files.Bytes} bytes cached");
        }
    }

    [Fact]
    public async Task Get_CacheOff_StillServesAndCompresses()
    {
        await using var host = await StartAsync(WebSpec.Default with { MemoryCacheBytes = 0 });
        var request = new HttpRequestMessage(HttpMethod.Get, "/static/app.3f2a9c1b.js");
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip");

        using var response = await host.Client.SendAsync(request);

        Assert.Equal(BigScript, Ungzip(await response.Content.ReadAsByteArrayAsync()));
        Assert.Equal(0, host.Files.Bytes);
    }
}
