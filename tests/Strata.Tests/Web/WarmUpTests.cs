using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Strata.Tests.Common;
using Strata.Topology;
using Strata.Web.Static;

namespace Strata.Tests.Web;

/// <summary>
/// A web node's warm-up (the <c>strata web</c> command's nodes): it requests the site's files of itself before /readyz
/// passes, and none of those requests is in its access log or its request metrics; a client that copies the warm-up's
/// user agent without its secret is logged as anyone else.
/// </summary>
public sealed class WarmUpTests : IAsyncLifetime
{
    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };
    private readonly string _root = Directory.CreateTempSubdirectory("strata-wwwroot-").FullName;
    private readonly string _logs = Path.Combine(Path.GetTempPath(), $"strata-logs-{Guid.NewGuid():N}");
    private WebApplication? _web;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(_root, "static"));
        await File.WriteAllTextAsync(Path.Combine(_root, "index.html"), "<!doctype html><title>home</title>");
        await File.WriteAllTextAsync(Path.Combine(_root, "static", "site.css"), "body { color: black; }");
        await File.WriteAllBytesAsync(Path.Combine(_root, "static", "big.bin"), new byte[100 * 1024]);
        await File.WriteAllBytesAsync(Path.Combine(_root, "static", "bigger.bin"), new byte[200 * 1024]);
        await File.WriteAllTextAsync(Path.Combine(_root, ".secret"), "x");
        await File.WriteAllTextAsync(Path.Combine(_root, "static", "needs escaping.txt"), "x");
    }

    public async Task DisposeAsync()
    {
        await WebTestNode.StopAsync(_web);
        _client.Dispose();
        Directory.Delete(_root, recursive: true);
        if (Directory.Exists(_logs))
        {
            Directory.Delete(_logs, recursive: true);
        }
    }

    [Fact]
    public void Find_TheSmallestFileHeldInMemoryAndTheSmallestSentByFile_NothingHiddenOrNeedingEscapes()
    {
        Assert.Equal(["/static/site.css", "/static/big.bin"], WarmUpFiles.Find(_root));
    }

    [Fact]
    public void Find_NoRoot_Nothing()
    {
        Assert.Empty(WarmUpFiles.Find(Path.Combine(_root, "missing")));
    }

    [Fact]
    public async Task Start_ReadyAfterTheWarmUp_WhichIsNeitherLoggedNorCounted()
    {
        var web = WebSpec.Default with { AccessLogPath = Path.Combine(_logs, "{node}.access.log") };
        (_web, var address) = await WebTestNode.StartAsync(TestTopology.Node("web-1", NodeRole.Web), _root, web, warmUp: true);

        JsonNode? ready = null;
        Assert.True(
            await Eventually.TrueAsync(async () =>
            {
                using var response = await _client.GetAsync(new Uri(address, "/readyz"));
                ready = JsonNode.Parse(await response.Content.ReadAsStringAsync());
                return response.StatusCode == HttpStatusCode.OK;
            }),
            $"never ready: {ready}");
        var warmUp = ready!["checks"]!["warm-up"]!;
        Assert.True(warmUp["ready"]!.GetValue<bool>());
        // Past its fixed requests (4 rounds of the 2 files, 4 closed connections, 64 at once), it went on under load until
        // the JIT was (almost) quiet.
        var detail = Regex.Match(warmUp["detail"]!.GetValue<string>(), @"^(\d+) requests to itself in \d+ ms, \d+ methods compiled$");
        Assert.True(detail.Success, warmUp["detail"]!.GetValue<string>());
        Assert.True(int.Parse(detail.Groups[1].Value) > (4 * 2) + 4 + 64, detail.Value);

        // One client request, and one that claims to be the warm-up without its secret: both logged and counted.
        await GetAsync(address, "/static/site.css", "curl/8.0");
        await GetAsync(address, "/static/big.bin", "strata-warm-up/00000000000000000000000000000000");
        var metrics = await _client.GetStringAsync(new Uri(address, "/metrics"));
        Assert.Equal(2, MetricsText.Samples(metrics).Where(s => s.Name == "strata_http_requests_total").Sum(s => s.Value));

        await WebTestNode.StopAsync(_web);
        _web = null;
        var lines = (await File.ReadAllLinesAsync(Path.Combine(_logs, "web-1.access.log"))).Where(l => !l.Contains("/readyz") && !l.Contains("/metrics")).ToArray();
        Assert.Equal(2, lines.Length);
        Assert.Contains("\"GET /static/site.css HTTP/1.1\" 200", lines[0]);
        Assert.Contains("\"GET /static/big.bin HTTP/1.1\" 200", lines[1]);
        Assert.EndsWith("\"strata-warm-up/00000000000000000000000000000000\"", lines[1][..lines[1].LastIndexOf(' ')]);
    }

    private async Task GetAsync(Uri address, string path, string userAgent)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(address, path));
        request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        using var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await response.Content.ReadAsByteArrayAsync();
    }
}
