using System.Collections.Immutable;
using System.Net;
using Strata.Topology;
using static Strata.Tests.Web.Static.StaticSiteHost;

namespace Strata.Tests.Web.Static;

/// <summary>What the web node answers itself and what it forwards: try_files $uri $uri/ @app.</summary>
public sealed class StaticSiteRoutingTests : IAsyncLifetime
{
    private StaticSiteHost _host = null!;

    public async Task InitializeAsync() => _host = await StartAsync(WebSpec.Default with
    {
        ErrorPages = ImmutableDictionary<string, string>.Empty.Add("404", "/404.html"),
    });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Get_ExistingFile_ServedByTheWebNodeWithoutForwarding()
    {
        using var response = await _host.Client.GetAsync("/static/site.css");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("body { color: black; }", await response.Content.ReadAsStringAsync());
        Assert.Equal("web-1", Header(response, "X-Served-By"));
        Assert.Equal(0, _host.Forwarded);
    }

    [Fact]
    public async Task Get_AppPrefix_ForwardedEvenWhenAFileExists()
    {
        using var response = await _host.Client.GetAsync("/api/data.json");

        Assert.Equal("forwarded", await response.Content.ReadAsStringAsync());
        Assert.Equal(1, _host.Forwarded);
    }

    [Fact]
    public async Task Get_MissingOutsideStaticPrefixes_Forwarded()
    {
        using var response = await _host.Client.GetAsync("/guestbook?page=2");

        Assert.Equal("forwarded", await response.Content.ReadAsStringAsync());
        Assert.Equal(1, _host.Forwarded);
    }

    [Fact]
    public async Task Get_MissingUnderStaticPrefix_404ErrorPageNotForwarded()
    {
        using var response = await _host.Client.GetAsync("/static/missing.js");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("<h1>custom not found</h1>", await response.Content.ReadAsStringAsync());
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("web-1", Header(response, "X-Served-By"));
        Assert.Equal(0, _host.Forwarded);
    }

    [Fact]
    public async Task Get_MissingUnderStaticPrefixNoErrorPage_404ShortText()
    {
        await using var host = await StartAsync();

        using var response = await host.Client.GetAsync("/static/missing.js");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("404 Not Found\n", await response.Content.ReadAsStringAsync());
        Assert.Equal(0, host.Forwarded);
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    public async Task NonGetOnStaticPrefix_405WithAllow(string method)
    {
        using var response = await _host.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), "/static/site.css"));

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal("GET, HEAD", Header(response, "Allow"));
        Assert.Equal(0, _host.Forwarded);
    }

    [Fact]
    public async Task PostElsewhere_ForwardedEvenWhenAFileExists()
    {
        using var response = await _host.Client.PostAsync("/index.html", new StringContent("x"));

        Assert.Equal("forwarded", await response.Content.ReadAsStringAsync());
        Assert.Equal(1, _host.Forwarded);
    }

    [Theory]
    [InlineData("/", "<h1>home</h1>")]
    [InlineData("/docs/", "<h1>docs</h1>")]
    public async Task Get_DirectoryWithSlash_ServesIndex(string path, string body)
    {
        using var response = await _host.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body, await response.Content.ReadAsStringAsync());
        Assert.Equal("text/html; charset=utf-8", response.Content.Headers.ContentType?.ToString());
    }

    [Fact]
    public async Task Get_DirectoryWithoutSlash_301ToSlashFormKeepingQuery()
    {
        using var response = await _host.Client.GetAsync("/docs?x=1");

        Assert.Equal(HttpStatusCode.MovedPermanently, response.StatusCode);
        Assert.Equal("/docs/?x=1", response.Headers.Location?.OriginalString);
        Assert.Equal(0, _host.Forwarded);
    }

    [Fact]
    public async Task Get_DirectoryWithoutIndex_NeverListedButForwarded()
    {
        using var response = await _host.Client.GetAsync("/empty/");

        Assert.Equal("forwarded", await response.Content.ReadAsStringAsync());
        Assert.Equal(1, _host.Forwarded);
    }

    [Fact]
    public async Task Get_ManyStaticFiles_AppTierNeverAsked()
    {
        foreach (var path in new[] { "/", "/docs/", "/static/site.css", "/static/logo.png", "/static/pre.js", "/static/digits.txt" })
        {
            using var response = await _host.Client.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(0, _host.Forwarded);
    }
}
