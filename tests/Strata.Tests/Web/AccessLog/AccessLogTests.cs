using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Strata.Hosting.Processes;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.Web.AccessLog;

/// <summary>The web node's access log: combined and JSON lines for static, forwarded and error answers, all there after a stop.</summary>
public sealed partial class AccessLogTests : IAsyncLifetime
{
    private const string Css = "body { color: black; }";

    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };
    private readonly string _root = Directory.CreateTempSubdirectory("strata-wwwroot-").FullName;
    private readonly string _logs = Path.Combine(Path.GetTempPath(), $"strata-logs-{Guid.NewGuid():N}");
    private FakeUpstream _app = null!;
    private WebApplication? _web;
    private Uri _address = null!;

    private string LogFile => Path.Combine(_logs, "nested", "web-1.access.log");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(_root, "static"));
        await File.WriteAllTextAsync(Path.Combine(_root, "static", "site.css"), Css);
        _app = await FakeUpstream.StartAsync("app-1");
    }

    public async Task DisposeAsync()
    {
        await WebTestNode.StopAsync(_web);
        await _app.DisposeAsync();
        _client.Dispose();
        Directory.Delete(_root, recursive: true);
        if (Directory.Exists(_logs))
        {
            Directory.Delete(_logs, recursive: true);
        }
    }

    [Fact]
    public async Task Combined_StaticForwardedAndError_OneLineEachWithTheirFields()
    {
        await StartAsync("combined");

        await SendAsync("/static/site.css?v=1", ("Referer", "http://foobar.com/"), ("User-Agent", "test-agent/1.0"));
        await SendAsync("/api/messages", ("X-Forwarded-For", "203.0.113.7, 10.0.0.2"), ("User-Agent", "say \"hi\""));
        await _app.DisposeAsync();
        await SendAsync("/api/messages");
        var lines = await StopAndReadAsync();

        Assert.Equal(3, lines.Length);
        var file = Combined().Match(lines[0]);
        Assert.True(file.Success, lines[0]);
        Assert.Equal("127.0.0.1", file.Groups["remote"].Value);
        Assert.Equal("GET /static/site.css?v=1 HTTP/1.1", file.Groups["request"].Value);
        Assert.Equal("200", file.Groups["status"].Value);
        Assert.Equal(Css.Length.ToString(), file.Groups["bytes"].Value);
        Assert.Equal("http://foobar.com/", file.Groups["referer"].Value);
        Assert.Equal("test-agent/1.0", file.Groups["agent"].Value);

        var forwarded = Combined().Match(lines[1]);
        Assert.True(forwarded.Success, lines[1]);
        // From a client, not a load balancer: its own X-Forwarded-For is not believed.
        Assert.Equal("127.0.0.1", forwarded.Groups["remote"].Value);
        Assert.Equal("200", forwarded.Groups["status"].Value);
        Assert.Equal("app-1 /api/messages".Length.ToString(), forwarded.Groups["bytes"].Value);
        Assert.Equal("-", forwarded.Groups["referer"].Value);
        Assert.Equal("say \\x22hi\\x22", forwarded.Groups["agent"].Value);

        var error = Combined().Match(lines[2]);
        Assert.True(error.Success, lines[2]);
        Assert.Equal("503", error.Groups["status"].Value);
        Assert.NotEqual("0", error.Groups["bytes"].Value);
    }

    [Fact]
    public async Task Json_EachLineParsesWithTheFields()
    {
        await StartAsync("json");

        await SendAsync("/static/site.css");
        await SendAsync("/api/messages?page=2", ("User-Agent", "test-agent/1.0"));
        var lines = await StopAndReadAsync();

        Assert.Equal(2, lines.Length);
        using var file = JsonDocument.Parse(lines[0]);
        using var forwarded = JsonDocument.Parse(lines[1]);
        Assert.Equal("/static/site.css", file.RootElement.GetProperty("path").GetString());
        Assert.Equal(Css.Length, file.RootElement.GetProperty("bytes").GetInt64());
        Assert.Equal(JsonValueKind.Null, file.RootElement.GetProperty("upstream").ValueKind);
        var f = forwarded.RootElement;
        Assert.True(DateTimeOffset.TryParse(f.GetProperty("time").GetString(), out _));
        Assert.Equal("127.0.0.1", f.GetProperty("remote").GetString());
        Assert.Equal("GET", f.GetProperty("method").GetString());
        Assert.Equal("/api/messages?page=2", f.GetProperty("path").GetString());
        Assert.Equal("HTTP/1.1", f.GetProperty("protocol").GetString());
        Assert.Equal(200, f.GetProperty("status").GetInt32());
        Assert.Equal(JsonValueKind.Null, f.GetProperty("referer").ValueKind);
        Assert.Equal("test-agent/1.0", f.GetProperty("userAgent").GetString());
        Assert.True(f.GetProperty("durationMs").GetDouble() >= 0);
        Assert.Equal("app-1", f.GetProperty("upstream").GetString());
    }

    [Fact]
    public async Task GracefulStop_RightAfterManyRequests_NoLineLost()
    {
        await StartAsync("combined");

        await Task.WhenAll(Enumerable.Range(0, 200).Select(i => SendAsync(i % 2 == 0 ? "/static/site.css" : $"/api/{i}")));
        var lines = await StopAndReadAsync();

        Assert.Equal(200, lines.Length);
        Assert.All(lines, line => Assert.Matches(Combined(), line));
    }

    [Fact]
    public async Task Running_LinesReachTheFileWithinAboutASecond()
    {
        await StartAsync("combined");

        await SendAsync("/static/site.css");

        Assert.True(await Eventually.TrueAsync(() => Task.FromResult(File.Exists(LogFile) && ReadShared(LogFile).Contains("site.css")), TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task ManagementAddress_HealthChecksAndMetrics_NotLogged()
    {
        var address = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, FreePorts.Tcp());
        var management = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, FreePorts.Tcp());
        (_web, _) = await WebTestNode.StartAsync(
            new NodeSpec("web-1", NodeRole.Web, address, management), _root, WebSpec.Default with { AccessLogPath = Path.Combine(_logs, "nested", "{node}.access.log") }, _app);

        _address = new Uri($"http://{management}/");
        await SendAsync("/readyz");
        await SendAsync("/metrics");
        _address = new Uri($"http://{address}/");
        await SendAsync("/static/site.css");
        await WebTestNode.StopAsync(_web);
        _web = null;

        var line = Assert.Single(await File.ReadAllLinesAsync(LogFile));
        Assert.Contains("\"GET /static/site.css HTTP/1.1\" 200", line, StringComparison.Ordinal);
    }

    private async Task StartAsync(string format)
    {
        (_web, _address) = await WebTestNode.StartAsync(
            _root, WebSpec.Default with { AccessLogPath = Path.Combine(_logs, "nested", "{node}.access.log"), AccessLogFormat = format }, _app);
        await WebTestNode.WaitHealthyAsync(_address, 1);
    }

    private async Task SendAsync(string path, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_address, path));
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await _client.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
    }

    private async Task<string[]> StopAndReadAsync()
    {
        await WebTestNode.StopAsync(_web);
        _web = null;
        // Only requests to the node's own pipeline are logged; /readyz polls are requests too, so skip them.
        return (await File.ReadAllLinesAsync(LogFile)).Where(l => !l.Contains("/readyz")).ToArray();
    }

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [GeneratedRegex("""^(?<remote>\S+) - - \[\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "(?<request>[^"]*)" (?<status>\d{3}) (?<bytes>\d+) "(?<referer>[^"]*)" "(?<agent>[^"]*)" \d+\.\d{3}$""")]
    private static partial Regex Combined();
}
