using System.Net;
using Strata.Topology;
using static Strata.Tests.Web.Static.StaticSiteHost;

namespace Strata.Tests.Web.Static;

/// <summary>Accept-Encoding negotiation: precompressed siblings, on-the-fly compression above the threshold, cached.</summary>
public sealed class StaticSiteCompressionTests : IAsyncLifetime
{
    private StaticSiteHost _host = null!;

    public async Task InitializeAsync() => _host = await StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Get_AcceptsBrWithBrSibling_ServesSiblingWithoutCompressing()
    {
        using var response = await GetAsync("/static/pre.js", "gzip, deflate, br");

        Assert.Equal("br", Header(response, "Content-Encoding"));
        Assert.Equal("Accept-Encoding", Header(response, "Vary"));
        Assert.EndsWith("-br\"", Header(response, "ETag"));
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(File.ReadAllBytes(Path.Combine(_host.Root, "static/pre.js.br")), body);
        Assert.Equal(BigScript, Unbrotli(body));
        Assert.Equal(0, _host.Files.Compressions);
    }

    [Fact]
    public async Task Get_AcceptsOnlyGzip_ServesGzSibling()
    {
        using var response = await GetAsync("/static/pre.js", "gzip");

        Assert.Equal("gzip", Header(response, "Content-Encoding"));
        Assert.EndsWith("-gz\"", Header(response, "ETag"));
        Assert.Equal(BigScript, Ungzip(await response.Content.ReadAsByteArrayAsync()));
        Assert.Equal(0, _host.Files.Compressions);
    }

    [Theory]
    [InlineData("br;q=0, gzip")]
    [InlineData("gzip;q=1.0, br;q=0.0")]
    public async Task Get_BrRefusedByQZero_Gzip(string acceptEncoding)
    {
        using var response = await GetAsync("/static/pre.js", acceptEncoding);

        Assert.Equal("gzip", Header(response, "Content-Encoding"));
    }

    [Fact]
    public async Task Get_BrAcceptedButOnlyGzSibling_GzSiblingPreferredToOnTheFly()
    {
        using var response = await GetAsync("/static/gzonly.css", "br, gzip");

        Assert.Equal("gzip", Header(response, "Content-Encoding"));
        Assert.Equal(0, _host.Files.Compressions);
    }

    [Fact]
    public async Task Get_NoAcceptEncoding_IdentityWithVary()
    {
        using var response = await GetAsync("/static/pre.js", null);

        Assert.Equal("", Header(response, "Content-Encoding"));
        Assert.Equal("Accept-Encoding", Header(response, "Vary"));
        Assert.Equal(BigScript, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Get_RepresentationETags_AllDiffer()
    {
        using var identity = await GetAsync("/static/pre.js", null);
        using var br = await GetAsync("/static/pre.js", "br");
        using var gz = await GetAsync("/static/pre.js", "gzip");
        using var onTheFlyBr = await GetAsync("/static/app.3f2a9c1b.js", "br");
        using var onTheFlyIdentity = await GetAsync("/static/app.3f2a9c1b.js", null);

        string[] tags = [Header(identity, "ETag"), Header(br, "ETag"), Header(gz, "ETag")];
        Assert.Equal(3, tags.Distinct().Count());
        Assert.NotEqual(Header(onTheFlyIdentity, "ETag"), Header(onTheFlyBr, "ETag"));
    }

    [Fact]
    public async Task Get_IfNoneMatchOfTheBrETag_304OnlyForBr()
    {
        using var br = await GetAsync("/static/pre.js", "br");
        var etag = Header(br, "ETag");

        using var again = await GetAsync("/static/pre.js", "br", etag);
        using var identity = await GetAsync("/static/pre.js", null, etag);

        Assert.Equal(HttpStatusCode.NotModified, again.StatusCode);
        Assert.Equal(HttpStatusCode.OK, identity.StatusCode);
    }

    [Fact]
    public async Task Get_CompressibleAboveThreshold_CompressedOnceThenFromCache()
    {
        using var first = await GetAsync("/static/app.3f2a9c1b.js", "gzip, br");
        var firstBody = await first.Content.ReadAsByteArrayAsync();
        using var second = await GetAsync("/static/app.3f2a9c1b.js", "gzip, br");
        var secondBody = await second.Content.ReadAsByteArrayAsync();

        Assert.Equal("br", Header(first, "Content-Encoding"));
        Assert.Equal(BigScript, Unbrotli(firstBody));
        Assert.Equal(firstBody, secondBody);
        Assert.True(firstBody.Length < BigScript.Length);
        Assert.Equal(firstBody.Length, first.Content.Headers.ContentLength);
        Assert.Equal(1, _host.Files.Compressions);

        using var gzip = await GetAsync("/static/app.3f2a9c1b.js", "gzip");
        using var gzipAgain = await GetAsync("/static/app.3f2a9c1b.js", "gzip");
        Assert.Equal("gzip", Header(gzipAgain, "Content-Encoding"));
        Assert.Equal(BigScript, Ungzip(await gzipAgain.Content.ReadAsByteArrayAsync()));
        Assert.Equal(2, _host.Files.Compressions);
    }

    [Fact]
    public async Task Get_CompressibleBelowThreshold_Identity()
    {
        using var response = await GetAsync("/static/site.css", "br, gzip");

        Assert.Equal("", Header(response, "Content-Encoding"));
        Assert.Equal("Accept-Encoding", Header(response, "Vary"));
        Assert.Equal(0, _host.Files.Compressions);
    }

    [Fact]
    public async Task Get_NotCompressibleType_IdentityWithoutVary()
    {
        _host.Write("static/photo.jpg", BigScript);

        using var response = await GetAsync("/static/photo.jpg", "br, gzip");

        Assert.Equal("", Header(response, "Content-Encoding"));
        Assert.Equal("", Header(response, "Vary"));
        Assert.Equal(0, _host.Files.Compressions);
    }

    [Fact]
    public async Task Get_SiblingOlderThanFile_Ignored()
    {
        var brPath = Path.Combine(_host.Root, "static/pre.js.br");
        File.SetLastWriteTimeUtc(brPath, File.GetLastWriteTimeUtc(Path.Combine(_host.Root, "static/pre.js")).AddMinutes(-5));

        using var response = await GetAsync("/static/pre.js", "br");

        Assert.Equal("br", Header(response, "Content-Encoding"));
        Assert.NotEqual(File.ReadAllBytes(brPath), await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(1, _host.Files.Compressions);
    }

    [Fact]
    public async Task Head_Compressed_SameHeadersAsGet()
    {
        using var get = await GetAsync("/static/app.3f2a9c1b.js", "br");
        var request = new HttpRequestMessage(HttpMethod.Head, "/static/app.3f2a9c1b.js");
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "br");
        using var head = await _host.Client.SendAsync(request);

        Assert.Equal(Header(get, "Content-Length"), Header(head, "Content-Length"));
        Assert.Equal(Header(get, "ETag"), Header(head, "ETag"));
        Assert.Equal("br", Header(head, "Content-Encoding"));
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
    }

    private async Task<HttpResponseMessage> GetAsync(string path, string? acceptEncoding, string? ifNoneMatch = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (acceptEncoding is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept-Encoding", acceptEncoding);
        }

        if (ifNoneMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);
        }

        var response = await _host.Client.SendAsync(request);
        Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.NotModified, $"{path}: {response.StatusCode}");
        return response;
    }
}
