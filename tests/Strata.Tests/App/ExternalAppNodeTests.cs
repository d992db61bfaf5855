using System.Collections.Immutable;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Strata.Tests.Common;
using Strata.Topology;
using Strata.Web;
using Xunit.Abstractions;

namespace Strata.Tests.App;

/// <summary>App nodes in command mode running the Python example (python3) as a supervised child process.</summary>
public sealed class ExternalAppNodeTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Get_OnTheNodesAddress_ReachesTheApplication()
    {
        await using var host = await ExternalAppTestHost.StartAsync("app-1", ExternalAppTestHost.PythonExample());
        Assert.True(await Eventually.TrueAsync(() => IsReadyAsync(host), Generous));

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/hello");
        request.Headers.Add("X-Forwarded-For", "203.0.113.9");
        using var response = await host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("app-1", string.Join(",", response.Headers.GetValues("X-Served-By")));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(host.Supervisor.ProcessId, json.RootElement.GetProperty("pid").GetInt32());
        Assert.NotEqual(Environment.ProcessId, json.RootElement.GetProperty("pid").GetInt32());
        // Straight from a client, not from a web node: its own X-Forwarded-For is replaced by its address.
        Assert.Equal("127.0.0.1", json.RootElement.GetProperty("forwardedFor").GetString());

        using var page = await host.Client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("Hello from Python", await page.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Get_NonAsciiHeaderValue_ReachesTheApplication()
    {
        await using var host = await ExternalAppTestHost.StartAsync("app-1", ExternalAppTestHost.PythonExample());
        Assert.True(await Eventually.TrueAsync(() => IsReadyAsync(host), Generous));
        using var client = new HttpClient(new SocketsHttpHandler { RequestHeaderEncodingSelector = (_, _) => System.Text.Encoding.UTF8 })
        {
            BaseAddress = host.Client.BaseAddress,
        };

        // Sent as UTF-8 bytes, as a browser may send a non-ASCII value: the node sends them on, not a 503.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/hello");
        request.Headers.Add("X-Name", "caf\u00e9");
        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task ChildKilled_ReadyzFollowsItsHealth_AndTheNodeRestartsIt()
    {
        await using var host = await ExternalAppTestHost.StartAsync("app-1", ExternalAppTestHost.PythonExample());
        Assert.True(await Eventually.TrueAsync(() => IsReadyAsync(host), Generous));
        var first = host.Supervisor.ProcessId!.Value;

        Process.GetProcessById(first).Kill(entireProcessTree: false);

        // Down: /readyz says so, and requests get a quick 503 with Retry-After (or, once restarted, the new child).
        Assert.True(await Eventually.TrueAsync(async () => !await IsReadyAsync(host), Generous));
        using (var whileDown = await host.Client.GetAsync("/api/hello"))
        {
            Assert.True(whileDown.StatusCode is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, $"{whileDown.StatusCode}");
            if (whileDown.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                Assert.Equal("1", whileDown.Headers.RetryAfter?.ToString());
            }
        }

        Assert.True(await Eventually.TrueAsync(() => IsReadyAsync(host), Generous));
        var second = host.Supervisor.ProcessId!.Value;
        Assert.NotEqual(first, second);
        using var response = await host.Client.GetAsync("/api/hello");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(second, json.RootElement.GetProperty("pid").GetInt32());
    }

    [Fact]
    public async Task ChildExitsAtOnce_NodeStaysUpNotReady_AndAnswers503Quickly()
    {
        var command = new AppCommandSpec(["python3", "-c", "import sys; sys.exit(3)"], "/healthz", Path.GetTempPath(), ImmutableDictionary<string, string>.Empty);
        await using var host = await ExternalAppTestHost.StartAsync("app-1", command);

        for (var i = 0; i < 5; i++)
        {
            var watch = Stopwatch.StartNew();
            using var response = await host.Client.GetAsync("/api/hello");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("1", response.Headers.RetryAfter?.ToString());
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
        }

        Assert.False(await IsReadyAsync(host));
        using var alive = await host.Client.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
    }

    [Fact]
    public async Task Stop_StopsTheChildByItsPid()
    {
        int pid;
        await using (var host = await ExternalAppTestHost.StartAsync("app-1", ExternalAppTestHost.PythonExample()))
        {
            Assert.True(await Eventually.TrueAsync(() => IsReadyAsync(host), Generous));
            pid = host.Supervisor.ProcessId!.Value;
        }

        // Reaped by the node: no such process (or, at worst, not ours any more).
        Assert.False(IsRunning(pid));
    }

    [Fact]
    public async Task WebTier_OneChildKilledDuringAStreamOfGets_NoFailedGetAndBothServeAgain()
    {
        var root = Directory.CreateTempSubdirectory("strata-wwwroot-").FullName;
        await using var app1 = await ExternalAppTestHost.StartAsync("app-1", ExternalAppTestHost.PythonExample());
        await using var app2 = await ExternalAppTestHost.StartAsync("app-2", ExternalAppTestHost.PythonExample());
        var webNode = TestTopology.Node("web-1", NodeRole.Web);
        var topology = TestTopology.Create(
            webNodes: [webNode],
            appNodes: [TestTopology.Node("app-1", NodeRole.App, app1.Url), TestTopology.Node("app-2", NodeRole.App, app2.Url)],
            webRoot: root,
            // As the repository's strata.json: an app node's 503 (its application is restarting) goes to the other.
            appBackend: TestTopology.FastBackend with { RetryOn = RetryConditions.Default | RetryConditions.Status503 });
        var web = WebNode.Build(topology, webNode);
        await web.StartAsync();
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(web.Urls.First()), Timeout = TimeSpan.FromSeconds(30) };
        try
        {
            Assert.True(await Eventually.TrueAsync(async () => await IsReadyAsync(app1) && await IsReadyAsync(app2), Generous));
            Assert.True(await Eventually.TrueAsync(async () => (await client.GetStringAsync("/readyz")).Contains("2 of 2 app nodes healthy"), Generous));
            var killed = app1.Supervisor.ProcessId!.Value;

            var statuses = new Dictionary<HttpStatusCode, int>();
            var servedBy = new Dictionary<string, int>();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            for (var i = 0; i < 400 && DateTime.UtcNow < deadline; i++)
            {
                if (i == 20)
                {
                    Process.GetProcessById(killed).Kill(entireProcessTree: false);
                }

                using var response = await client.GetAsync("/api/hello");
                statuses[response.StatusCode] = statuses.GetValueOrDefault(response.StatusCode) + 1;
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    var by = string.Join(",", response.Headers.GetValues("X-Served-By"));
                    servedBy[by] = servedBy.GetValueOrDefault(by) + 1;
                }

                await Task.Delay(5);
            }

            output.WriteLine($"statuses during the kill: {string.Join(", ", statuses)}; served by: {string.Join(", ", servedBy)}");

            // app-1 answers 503 for its dead child until it is restarted; the web tier retries those GETs on app-2
            // (retries.on 503) before its health check takes app-1 out, so no GET fails.
            Assert.True(statuses.Keys.All(status => status == HttpStatusCode.OK), string.Join(", ", statuses));
            Assert.True(servedBy.GetValueOrDefault("app-2") > 0, string.Join(", ", servedBy));

            // app-1 is restarted and taken back by the web tier.
            Assert.True(await Eventually.TrueAsync(() => IsReadyAsync(app1), Generous));
            Assert.NotEqual(killed, app1.Supervisor.ProcessId);
            Assert.True(await Eventually.TrueAsync(async () => (await client.GetStringAsync("/readyz")).Contains("2 of 2 app nodes healthy"), Generous));
            Assert.True(await Eventually.TrueAsync(async () =>
            {
                using var response = await client.GetAsync("/api/hello");
                return response.StatusCode == HttpStatusCode.OK && response.Headers.GetValues("X-Served-By").Contains("app-1");
            }, Generous));
        }
        finally
        {
            await web.StopAsync();
            await web.DisposeAsync();
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task<bool> IsReadyAsync(ExternalAppTestHost host)
    {
        using var response = await host.Client.GetAsync("/readyz");
        return response.StatusCode == HttpStatusCode.OK;
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited && process.ProcessName.StartsWith("python", StringComparison.Ordinal);
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
