using System.Net;
using System.Net.Http.Headers;
using Strata.Topology;
using static Strata.Tests.Web.Static.StaticSiteHost;

namespace Strata.Tests.Web.Static;

/// <summary>Validators, conditional requests, ranges, HEAD, content types and Cache-Control of served files.</summary>
public sealed class StaticSiteHttpTests : IAsyncLifetime
{
    private const string Digits = "0123456789abcdefghijklmnopqrstuvwxyz";
    private StaticSiteHost _host = null!;

    public async Task InitializeAsync() => _host = await StartAsync(WebSpec.Default with { CacheControl = [("/static/nocache/", "no-cache")] });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Get_File_CarriesValidatorsAndSafetyHeaders()
    {
        using var response = await _host.Client.GetAsync("/static/site.css");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.ETag!.IsWeak);
        Assert.StartsWith("\"", response.Headers.ETag.Tag);
        var lastModified = response.Content.Headers.LastModified!.Value;
        Assert.Equal(new DateTimeOffset(File.GetLastWriteTimeUtc(Path.Combine(_host.Root, "static/site.css"))).ToUnixTimeSeconds(), lastModified.ToUnixTimeSeconds());
        Assert.Equal("bytes", Header(response, "Accept-Ranges"));
        Assert.Equal("nosniff", Header(response, "X-Content-Type-Options"));
        Assert.Equal("text/css; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.Equal(22, response.Content.Headers.ContentLength);
        Assert.Equal(WebSpec.DefaultCacheControl, Header(response, "Cache-Control"));
    }

    [Fact]
    public async Task Get_FingerprintedName_Immutable()
    {
        using var response = await _host.Client.GetAsync("/static/app.3f2a9c1b.js");

        Assert.Equal(WebSpec.ImmutableCacheControl, Header(response, "Cache-Control"));
    }

    [Fact]
    public async Task Get_PrefixRule_WinsOverFingerprint()
    {
        _host.Write("static/nocache/app.3f2a9c1b.js", "x");

        using var response = await _host.Client.GetAsync("/static/nocache/app.3f2a9c1b.js");

        Assert.Equal("no-cache", Header(response, "Cache-Control"));
    }

    [Theory]
    [InlineData("html", "text/html; charset=utf-8")]
    [InlineData("htm", "text/html; charset=utf-8")]
    [InlineData("css", "text/css; charset=utf-8")]
    [InlineData("js", "text/javascript; charset=utf-8")]
    [InlineData("mjs", "text/javascript; charset=utf-8")]
    [InlineData("json", "application/json")]
    [InlineData("map", "application/json")]
    [InlineData("svg", "image/svg+xml")]
    [InlineData("png", "image/png")]
    [InlineData("jpg", "image/jpeg")]
    [InlineData("jpeg", "image/jpeg")]
    [InlineData("gif", "image/gif")]
    [InlineData("webp", "image/webp")]
    [InlineData("avif", "image/avif")]
    [InlineData("ico", "image/x-icon")]
    [InlineData("woff2", "font/woff2")]
    [InlineData("woff", "font/woff")]
    [InlineData("wasm", "application/wasm")]
    [InlineData("txt", "text/plain; charset=utf-8")]
    [InlineData("xml", "application/xml")]
    [InlineData("pdf", "application/pdf")]
    [InlineData("unknownext", "application/octet-stream")]
    public async Task Get_Extension_ContentType(string extension, string contentType)
    {
        _host.Write($"types/f.{extension}", "x");

        using var response = await _host.Client.GetAsync($"/types/f.{extension}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(contentType, response.Content.Headers.ContentType?.ToString());
    }

    [Fact]
    public async Task Get_IfNoneMatchSameETag_304WithValidatorsNoBody()
    {
        var etag = await ETagAsync("/static/site.css");

        using var response = await SendAsync("/static/site.css", r => r.Headers.TryAddWithoutValidation("If-None-Match", etag));

        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
        Assert.Equal(etag, Header(response, "ETag"));
        Assert.Equal(WebSpec.DefaultCacheControl, Header(response, "Cache-Control"));
        Assert.NotEqual("", Header(response, "Last-Modified"));
        Assert.Equal("Accept-Encoding", Header(response, "Vary"));
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("*")]
    [InlineData("\"nope\", {0}")]
    [InlineData("W/{0}")]
    public async Task Get_IfNoneMatchForms_304(string form)
    {
        var etag = await ETagAsync("/static/site.css");

        using var response = await SendAsync("/static/site.css", r => r.Headers.TryAddWithoutValidation("If-None-Match", string.Format(form, etag)));

        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
    }

    [Fact]
    public async Task Get_IfNoneMatchOther_200()
    {
        using var response = await SendAsync("/static/site.css", r => r.Headers.TryAddWithoutValidation("If-None-Match", "\"other\""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Get_IfModifiedSince_304WhenNotModified200WhenOlder()
    {
        using var first = await _host.Client.GetAsync("/static/site.css");
        var lastModified = first.Content.Headers.LastModified!.Value;

        using var same = await SendAsync("/static/site.css", r => r.Headers.IfModifiedSince = lastModified);
        using var older = await SendAsync("/static/site.css", r => r.Headers.IfModifiedSince = lastModified.AddHours(-1));

        Assert.Equal(HttpStatusCode.NotModified, same.StatusCode);
        Assert.Equal(HttpStatusCode.OK, older.StatusCode);
    }

    [Fact]
    public async Task Get_IfModifiedSinceWithNonMatchingIfNoneMatch_DateIgnored200()
    {
        using var first = await _host.Client.GetAsync("/static/site.css");
        var lastModified = first.Content.Headers.LastModified!.Value;

        using var response = await SendAsync("/static/site.css", r =>
        {
            r.Headers.IfModifiedSince = lastModified;
            r.Headers.TryAddWithoutValidation("If-None-Match", "\"other\"");
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("\"other\"")]
    [InlineData("W/{0}")]
    public async Task Get_IfMatchFails_412(string form)
    {
        var etag = await ETagAsync("/static/site.css");

        using var response = await SendAsync("/static/site.css", r => r.Headers.TryAddWithoutValidation("If-Match", string.Format(form, etag)));

        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
    }

    [Theory]
    [InlineData("*")]
    [InlineData("{0}")]
    public async Task Get_IfMatchHolds_200(string form)
    {
        var etag = await ETagAsync("/static/site.css");

        using var response = await SendAsync("/static/site.css", r => r.Headers.TryAddWithoutValidation("If-Match", string.Format(form, etag)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Get_IfUnmodifiedSinceBeforeModification_412()
    {
        using var response = await SendAsync("/static/site.css", r => r.Headers.IfUnmodifiedSince = DateTimeOffset.UtcNow.AddDays(-30));

        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
    }

    [Fact]
    public async Task Get_SingleRange_206WithContentRange()
    {
        using var response = await SendAsync("/static/digits.txt", r => r.Headers.Range = new RangeHeaderValue(2, 5));

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal("bytes 2-5/36", Header(response, "Content-Range"));
        Assert.Equal("2345", await response.Content.ReadAsStringAsync());
        Assert.Equal(4, response.Content.Headers.ContentLength);
    }

    [Theory]
    [InlineData("bytes=-3", "bytes 33-35/36", "xyz")]
    [InlineData("bytes=30-", "bytes 30-35/36", "uvwxyz")]
    [InlineData("bytes=30-1000", "bytes 30-35/36", "uvwxyz")]
    public async Task Get_SuffixAndOpenRanges_206(string range, string contentRange, string body)
    {
        using var response = await SendAsync("/static/digits.txt", r => r.Headers.TryAddWithoutValidation("Range", range));

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(contentRange, Header(response, "Content-Range"));
        Assert.Equal(body, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Get_SeveralRanges_MultipartByteranges()
    {
        using var response = await SendAsync("/static/digits.txt", r => r.Headers.TryAddWithoutValidation("Range", "bytes=0-1, 10-12, 11-13"));

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal("multipart/byteranges", response.Content.Headers.ContentType?.MediaType);
        var boundary = response.Content.Headers.ContentType!.Parameters.Single(p => p.Name == "boundary").Value!;
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(body.Length, response.Content.Headers.ContentLength);
        var expected =
            $"\r\n--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 0-1/36\r\n\r\n01" +
            $"\r\n--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 10-13/36\r\n\r\nabcd" +
            $"\r\n--{boundary}--\r\n";
        Assert.Equal(expected, body);
    }

    [Fact]
    public async Task Get_SeveralRangesOfALargeFileFromDisk_MultipartByteranges()
    {
        var content = new string('a', 3000) + "MIDDLE" + new string('b', 3000);
        await using var host = await StartAsync(WebSpec.Default with { MemoryCacheMaxFileBytes = 1000 });
        host.Write("static/large.txt", content);

        using var response = await SendAsync(host, "/static/large.txt", r => r.Headers.TryAddWithoutValidation("Range", "bytes=3000-3005,-2"));

        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Contains("Content-Range: bytes 3000-3005/6006\r\n\r\nMIDDLE\r\n", body);
        Assert.Contains("Content-Range: bytes 6004-6005/6006\r\n\r\nbb\r\n", body);
    }

    [Theory]
    [InlineData("bytes=36-")]
    [InlineData("bytes=100-200")]
    [InlineData("bytes=-0")]
    public async Task Get_UnsatisfiableRange_416(string range)
    {
        using var response = await SendAsync("/static/digits.txt", r => r.Headers.TryAddWithoutValidation("Range", range));

        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode);
        Assert.Equal("bytes */36", Header(response, "Content-Range"));
    }

    [Theory]
    [InlineData("bytes=5-2")]
    [InlineData("bytes=abc")]
    [InlineData("lines=1-2")]
    [InlineData("bytes 1-2")]
    public async Task Get_InvalidRange_Ignored200(string range)
    {
        using var response = await SendAsync("/static/digits.txt", r => r.Headers.TryAddWithoutValidation("Range", range));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Digits, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Get_IfRangeMatching_206ElseWhole200()
    {
        using var first = await _host.Client.GetAsync("/static/digits.txt");
        var etag = first.Headers.ETag!.Tag;
        var lastModified = first.Content.Headers.LastModified!.Value;

        using var byTag = await SendAsync("/static/digits.txt", r =>
        {
            r.Headers.Range = new RangeHeaderValue(0, 0);
            r.Headers.TryAddWithoutValidation("If-Range", etag);
        });
        using var byDate = await SendAsync("/static/digits.txt", r =>
        {
            r.Headers.Range = new RangeHeaderValue(0, 0);
            r.Headers.IfRange = new RangeConditionHeaderValue(lastModified);
        });
        using var staleTag = await SendAsync("/static/digits.txt", r =>
        {
            r.Headers.Range = new RangeHeaderValue(0, 0);
            r.Headers.TryAddWithoutValidation("If-Range", "\"old\"");
        });
        using var staleDate = await SendAsync("/static/digits.txt", r =>
        {
            r.Headers.Range = new RangeHeaderValue(0, 0);
            r.Headers.IfRange = new RangeConditionHeaderValue(lastModified.AddDays(-1));
        });

        Assert.Equal(HttpStatusCode.PartialContent, byTag.StatusCode);
        Assert.Equal(HttpStatusCode.PartialContent, byDate.StatusCode);
        Assert.Equal(HttpStatusCode.OK, staleTag.StatusCode);
        Assert.Equal(Digits, await staleTag.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, staleDate.StatusCode);
    }

    [Fact]
    public async Task Get_RangeOnCompressibleFile_IdentityBytesNotCompressed()
    {
        using var response = await SendAsync("/static/pre.js", r =>
        {
            r.Headers.Range = new RangeHeaderValue(0, 6);
            r.Headers.AcceptEncoding.ParseAdd("br, gzip");
        });

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal("", Header(response, "Content-Encoding"));
        Assert.Equal("console", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Head_File_SameHeadersAsGetWithoutBody()
    {
        using var get = await _host.Client.GetAsync("/static/site.css");
        using var head = await _host.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/static/site.css"));

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        foreach (var name in new[] { "ETag", "Last-Modified", "Cache-Control", "Content-Type", "Content-Length", "Accept-Ranges", "Vary", "X-Served-By", "X-Content-Type-Options" })
        {
            Assert.Equal(Header(get, name), Header(head, name));
        }

        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
    }

    private async Task<string> ETagAsync(string path)
    {
        using var response = await _host.Client.GetAsync(path);
        return response.Headers.ETag!.Tag;
    }

    private Task<HttpResponseMessage> SendAsync(string path, Action<HttpRequestMessage> configure) => SendAsync(_host, path, configure);

    private static Task<HttpResponseMessage> SendAsync(StaticSiteHost host, string path, Action<HttpRequestMessage> configure)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        configure(request);
        return host.Client.SendAsync(request);
    }
}
