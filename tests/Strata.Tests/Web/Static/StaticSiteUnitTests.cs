using Microsoft.Extensions.Primitives;
using Strata.Topology;
using Strata.Web.Static;

namespace Strata.Tests.Web.Static;

/// <summary>The pure parts of the static site: path checks, fingerprints, Accept-Encoding, Range parsing.</summary>
public sealed class StaticSiteUnitTests
{
    [Theory]
    [InlineData("/", nameof(PathVerdict.Ok))]
    [InlineData("/static/app.js?v=1", nameof(PathVerdict.Ok))]
    [InlineData("/docs/", nameof(PathVerdict.Ok))]
    [InlineData("/caf%C3%A9.txt", nameof(PathVerdict.Ok))]
    [InlineData("/100%25.txt", nameof(PathVerdict.Ok))]
    [InlineData("/a..b/c", nameof(PathVerdict.Ok))]
    [InlineData("http://host/x/y", nameof(PathVerdict.Ok))]
    [InlineData("/.git/config", nameof(PathVerdict.Hidden))]
    [InlineData("/a/.hidden/x", nameof(PathVerdict.Hidden))]
    [InlineData("/%2Eenv", nameof(PathVerdict.Hidden))]
    [InlineData("/../x", nameof(PathVerdict.Invalid))]
    [InlineData("/a/./b", nameof(PathVerdict.Invalid))]
    [InlineData("/a/%2e%2E/b", nameof(PathVerdict.Invalid))]
    [InlineData("/a%2Fb", nameof(PathVerdict.Invalid))]
    [InlineData("/a%5Cb", nameof(PathVerdict.Invalid))]
    [InlineData("/a\\b", nameof(PathVerdict.Invalid))]
    [InlineData("/a%00", nameof(PathVerdict.Invalid))]
    [InlineData("/a%0d%0a", nameof(PathVerdict.Invalid))]
    [InlineData("/%c0%ae%c0%ae/x", nameof(PathVerdict.Invalid))]
    [InlineData("/%ff", nameof(PathVerdict.Invalid))]
    [InlineData("/a%2", nameof(PathVerdict.Invalid))]
    [InlineData("//a", nameof(PathVerdict.Invalid))]
    [InlineData("/a//b", nameof(PathVerdict.Invalid))]
    [InlineData("a/b", nameof(PathVerdict.Invalid))]
    [InlineData("*", nameof(PathVerdict.Invalid))]
    public void Check_Target_Verdict(string target, string verdict) => Assert.Equal(verdict, SafePath.Check(target).ToString());

    [Fact]
    public void RealPath_LinksResolvedAndLoopsRefused()
    {
        var dir = Directory.CreateTempSubdirectory("strata-realpath-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "real"));
            File.WriteAllText(Path.Combine(dir, "real", "f"), "x");
            Directory.CreateSymbolicLink(Path.Combine(dir, "d"), "real");
            File.CreateSymbolicLink(Path.Combine(dir, "chain"), "d/../d/f");
            File.CreateSymbolicLink(Path.Combine(dir, "loop1"), "loop2");
            File.CreateSymbolicLink(Path.Combine(dir, "loop2"), "loop1");
            var realDir = SafePath.RealPath(dir)!;

            Assert.Equal(Path.Combine(realDir, "real", "f"), SafePath.RealPath(Path.Combine(dir, "d", "f")));
            Assert.Equal(Path.Combine(realDir, "real", "f"), SafePath.RealPath(Path.Combine(dir, "chain")));
            Assert.Null(SafePath.RealPath(Path.Combine(dir, "loop1")));
            Assert.Null(SafePath.RealPath(Path.Combine(dir, "missing")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("/srv/www", "/srv/www", true)]
    [InlineData("/srv/www/a", "/srv/www", true)]
    [InlineData("/srv/www2/a", "/srv/www", false)]
    [InlineData("/srv", "/srv/www", false)]
    public void IsUnder_Paths(string path, string root, bool under) => Assert.Equal(under, SafePath.IsUnder(path, root));

    [Theory]
    [InlineData("app.3f2a9c1b.js", true)]
    [InlineData("app-3f2a9c1bde.css", true)]
    [InlineData("chunk.Ab3dE_9x.js", true)]
    [InlineData("index-B1aZ93xQ.js", true)]
    [InlineData("app.js", false)]
    [InlineData("jquery-3.7.1.min.js", false)]
    [InlineData("bootstrap.bundle.js", false)]
    [InlineData("logo-1024x1024.png", false)]
    [InlineData("build-20240101.js", false)]
    [InlineData("app.3f2a9c1.js", false)]
    [InlineData("report-2024final.pdf", false)]
    [InlineData("photo-summer2024.jpg", false)]
    public void IsFingerprinted_Names(string name, bool fingerprinted) => Assert.Equal(fingerprinted, CachePolicy.IsFingerprinted(name));

    [Fact]
    public void CachePolicy_FirstPrefixRuleThenFingerprintThenDefault()
    {
        var spec = WebSpec.Default with { CacheControl = [("/static/img/", "public, max-age=600"), ("/static/", "no-cache")] };

        Assert.Equal("public, max-age=600", CachePolicy.For(spec, "/static/img/a.3f2a9c1b.png"));
        Assert.Equal("no-cache", CachePolicy.For(spec, "/static/a.css"));
        Assert.Equal(WebSpec.ImmutableCacheControl, CachePolicy.For(spec, "/assets/a.3f2a9c1b.js"));
        Assert.Equal(WebSpec.DefaultCacheControl, CachePolicy.For(spec, "/index.html"));
    }

    [Theory]
    [InlineData("", false, false)]
    [InlineData("gzip, deflate, br", true, true)]
    [InlineData("br;q=0, gzip", false, true)]
    [InlineData("BR;Q=0.5", true, false)]
    [InlineData("*", true, true)]
    [InlineData("*;q=0, gzip", false, true)]
    [InlineData("identity", false, false)]
    [InlineData("gzip;q=0.000", false, false)]
    public void Accepted_AcceptEncoding(string header, bool brotli, bool gzip) =>
        Assert.Equal((brotli, gzip), Compression.Accepted(new StringValues(header)));

    [Fact]
    public void Parse_Ranges_SortedCoalescedAndClamped()
    {
        Assert.Equal([(0L, 9L)], RangeWriter.Parse("bytes=0-4,5-9", 100));
        Assert.Equal([(0L, 1L), (10L, 20L)], RangeWriter.Parse("bytes=10-15, 0-1, 12-20", 100));
        Assert.Equal([(90L, 99L)], RangeWriter.Parse("bytes=-10", 100));
        Assert.Equal([(0L, 99L)], RangeWriter.Parse("bytes=-1000", 100));
        Assert.Empty(RangeWriter.Parse("bytes=100-", 100)!);
        Assert.Empty(RangeWriter.Parse("bytes=-5", 0)!);
        Assert.Null(RangeWriter.Parse("bytes=9-1", 100));
        Assert.Null(RangeWriter.Parse(new StringValues(["bytes=0-1", "bytes=2-3"]), 100));
        Assert.Null(RangeWriter.Parse("bytes=" + string.Join(',', Enumerable.Range(0, 65).Select(i => $"{i * 2}-{i * 2}")), 1000));
    }
}
