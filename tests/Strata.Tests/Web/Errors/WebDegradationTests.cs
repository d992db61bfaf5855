using System.Collections.Immutable;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.Web.Errors;

/// <summary>The web node's answers when the app tier cannot answer: 503/502 with an error page or a problem document.</summary>
public sealed class WebDegradationTests : IAsyncLifetime
{
    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };
    private readonly string _root = Directory.CreateTempSubdirectory("strata-wwwroot-").FullName;
    private FakeUpstream? _app;
    private WebApplication? _web;
    private Uri _address = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(_root, "static"));
        await File.WriteAllTextAsync(Path.Combine(_root, "static", "site.css"), "body { color: black; }");
        await File.WriteAllTextAsync(Path.Combine(_root, "50x.html"), "<h1>We are fixing things</h1>");
        await File.WriteAllTextAsync(Path.Combine(_root, "503.html"), "<h1>Back in a moment</h1>");
    }

    public async Task DisposeAsync()
    {
        await WebTestNode.StopAsync(_web);
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        _client.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task AppTierStopped_StaticServedDynamic503WithBuiltInPageFast()
    {
        await StartWithAppThenStopItAsync(WebSpec.Default);

        using var file = await _client.GetAsync(new Uri(_address, "/static/site.css"));
        var started = TimeProvider.System.GetTimestamp();
        using var page = await GetAsync("/guestbook", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
        var elapsed = TimeProvider.System.GetElapsedTime(started);

        Assert.Equal(HttpStatusCode.OK, file.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, page.StatusCode);
        Assert.True(elapsed < TimeSpan.FromSeconds(2), $"answered in {elapsed}");
        Assert.Equal("10", Header(page, "Retry-After"));
        Assert.Equal("no-store", Header(page, "Cache-Control"));
        Assert.Equal("web-1", Header(page, "X-Served-By"));
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("temporarily unavailable", await page.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AppTierStopped_AcceptJson_ProblemDocument()
    {
        await StartWithAppThenStopItAsync(WebSpec.Default);

        using var response = await GetAsync("/api/messages", "application/json");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("10", Header(response, "Retry-After"));
        Assert.Equal("no-store", Header(response, "Cache-Control"));
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("about:blank", problem.RootElement.GetProperty("type").GetString());
        Assert.Equal("Service Unavailable", problem.RootElement.GetProperty("title").GetString());
        Assert.Equal(503, problem.RootElement.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.RootElement.GetProperty("detail").GetString()));
    }

    [Theory]
    [InlineData("application/json", true)]
    [InlineData("application/problem+json", true)]
    [InlineData("application/json, text/plain, */*", true)]
    [InlineData("*/*", false)]
    [InlineData("text/html;q=0.9, application/json;q=0.5", false)]
    [InlineData("text/html, application/json", false)]
    public async Task AppTierStopped_Accept_ChoosesJsonOnlyWhenPreferred(string accept, bool json)
    {
        await StartWithAppThenStopItAsync(WebSpec.Default);

        using var response = await GetAsync("/api/messages", accept);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(json ? "application/problem+json" : "text/html", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task AppTierStopped_50xPageConfigured_ServedFromTheWebRoot()
    {
        await StartWithAppThenStopItAsync(WebSpec.Default with { ErrorPages = new Dictionary<string, string> { ["50x"] = "/50x.html" }.ToImmutableDictionary() });

        using var response = await GetAsync("/", "text/html");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("<h1>We are fixing things</h1>", await response.Content.ReadAsStringAsync());
        Assert.Equal("no-store", Header(response, "Cache-Control"));
    }

    [Fact]
    public async Task AppTierStopped_ExactCodePage_WinsOver50x()
    {
        await StartWithAppThenStopItAsync(WebSpec.Default with
        {
            ErrorPages = new Dictionary<string, string> { ["50x"] = "/50x.html", ["503"] = "/503.html" }.ToImmutableDictionary(),
        });

        using var response = await GetAsync("/", "text/html");

        Assert.Equal("<h1>Back in a moment</h1>", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AppFailsToAnswer_502WithThe50xPage()
    {
        _app = await FakeUpstream.StartAsync("app-1");
        (_web, _address) = await WebTestNode.StartAsync(
            _root, WebSpec.Default with { ErrorPages = new Dictionary<string, string> { ["50x"] = "/50x.html" }.ToImmutableDictionary() }, _app);
        await WebTestNode.WaitHealthyAsync(_address, 1);
        _app.Behavior = context =>
        {
            context.Abort();
            return Task.CompletedTask;
        };

        using var response = await _client.PostAsync(new Uri(_address, "/api/messages"), new StringContent("{}"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("<h1>We are fixing things</h1>", await response.Content.ReadAsStringAsync());
        Assert.Equal("no-store", Header(response, "Cache-Control"));
        Assert.False(response.Headers.Contains("Retry-After"));
    }

    private async Task StartWithAppThenStopItAsync(WebSpec web)
    {
        _app = await FakeUpstream.StartAsync("app-1");
        (_web, _address) = await WebTestNode.StartAsync(_root, web, _app);
        await WebTestNode.WaitHealthyAsync(_address, 1);
        await _app.DisposeAsync();
        _app = null;
    }

    private async Task<HttpResponseMessage> GetAsync(string path, string accept)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_address, path));
        request.Headers.TryAddWithoutValidation("Accept", accept);
        return await _client.SendAsync(request);
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(", ", values) : "";
}
