using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.Web.Security;

/// <summary>web.securityHeaders on every answer of a real web node: files, forwarded pages, 404s; never doubled.</summary>
public sealed class SecurityHeadersTests : IAsyncLifetime
{
    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };
    private readonly string _root = Directory.CreateTempSubdirectory("strata-wwwroot-").FullName;
    private FakeUpstream _app = null!;
    private WebApplication? _web;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(_root, "static"));
        await File.WriteAllTextAsync(Path.Combine(_root, "static", "site.css"), "body { color: black; }");
        await File.WriteAllTextAsync(Path.Combine(_root, "404.html"), "<p>not here</p>");
        _app = await FakeUpstream.StartAsync("app-1");
    }

    public async Task DisposeAsync()
    {
        await WebTestNode.StopAsync(_web);
        await _app.DisposeAsync();
        _client.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Theory]
    [InlineData("/static/site.css", HttpStatusCode.OK)]
    [InlineData("/static/missing.css", HttpStatusCode.NotFound)]
    [InlineData("/guestbook", HttpStatusCode.OK)]
    public async Task Get_FileErrorOrForwarded_EveryDefaultHeaderOnce(string path, HttpStatusCode status)
    {
        var address = await StartAsync(WebSpec.Default with { ErrorPages = WebSpec.Default.ErrorPages.Add("404", "/404.html") });

        using var response = await _client.GetAsync(new Uri(address, path));

        Assert.Equal(status, response.StatusCode);
        Assert.All(WebSpec.Default.SecurityHeaders, h => Assert.Equal([h.Value], response.Headers.GetValues(h.Name)));
    }

    [Fact]
    public async Task Forwarded_AppSetItsOwn_AppsValueKeptAndNotDoubled()
    {
        var address = await StartAsync(WebSpec.Default);
        _app.Behavior = context =>
        {
            context.Response.Headers.ContentSecurityPolicy = "default-src 'none'";
            context.Response.Headers.XFrameOptions = "SAMEORIGIN";
            return context.Response.WriteAsync("own");
        };

        using var response = await _client.GetAsync(new Uri(address, "/api/page"));

        Assert.Equal(["default-src 'none'"], response.Headers.GetValues("Content-Security-Policy"));
        Assert.Equal(["SAMEORIGIN"], response.Headers.GetValues("X-Frame-Options"));
        Assert.Equal(["nosniff"], response.Headers.GetValues("X-Content-Type-Options"));
    }

    [Fact]
    public async Task Configured_LeftOutAndChanged_AsConfigured()
    {
        var address = await StartAsync(WebSpec.Default with { SecurityHeaders = [("Referrer-Policy", "no-referrer")] });

        using var response = await _client.GetAsync(new Uri(address, "/static/site.css"));

        Assert.Equal(["no-referrer"], response.Headers.GetValues("Referrer-Policy"));
        Assert.False(response.Headers.Contains("Content-Security-Policy"));
        Assert.False(response.Headers.Contains("X-Frame-Options"));
    }

    private async Task<Uri> StartAsync(WebSpec web)
    {
        (_web, var address) = await WebTestNode.StartAsync(_root, web, _app);
        await WebTestNode.WaitHealthyAsync(address, 1);
        return address;
    }
}
