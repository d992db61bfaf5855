using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Strata.Hosting.Processes;
using Strata.Tests.Common;
using Xunit.Abstractions;

namespace Strata.Tests.EndToEnd;

/// <summary>
/// The live dashboard of a real run (<c>strata up --detach</c> serves it from a process of its own) in a real browser
/// (<see cref="Browser"/>): it draws every node and the VIP's owner with nothing in the console; a load balancer killed
/// from the page shows down and the VIP with the other one within 5 s, and starts again from the page; a web node drained
/// from the page shows draining; web scaled to 3 from the page shows web-3; <c>down</c> stops the dashboard's process. Screenshots, at laptop and phone sizes, are
/// kept in .build/test-results/.
/// </summary>
public sealed class DashboardEndToEndTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly string Results = Path.Combine(TestTopology.RepositoryRoot, ".build", "test-results");

    private readonly int _port = FreePorts.Tcp();
    private EndToEndRun? _run;

    private EndToEndRun Run => _run!;

    private Uri Dashboard => new($"http://127.0.0.1:{_port}/");

    public Task InitializeAsync()
    {
        _run = EndToEndRun.Create(json => json["dashboard"] = new JsonObject { ["address"] = $"127.0.0.1:{_port}" });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await Run.DisposeAsync();

    [SkippableFact]
    public async Task Dashboard_InChromium_DrawsTheRun_FollowsAKillAStartAndAScaleFromThePage()
    {
        Requirements.CheckOrReport(Browser.Unavailable, output);
        var up = await Run.StrataAsync(TimeSpan.FromSeconds(120), "up", "--detach");
        Assert.Contains($"dashboard: {Dashboard}", up.Output);
        var token = (await File.ReadAllTextAsync(Path.Combine(Run.Directory, ".strata", "admin-token"))).Trim();

        await using var browser = await Browser.LaunchAsync();
        await using var page = await browser.NewPageAsync();
        // Not NetworkIdle: the page's event stream stays open.
        await page.Page.GotoAsync(Dashboard.ToString(), new PageGotoOptions { WaitUntil = WaitUntilState.Load });

        // Every node of the topology, ready; the database; the VIP held by lb-1 (the higher priority).
        foreach (var node in new[] { "dns", "lb-1", "lb-2", "web-1", "web-2", "app-1", "app-2" })
        {
            await page.Page.Locator($".node[data-node='{node}'][data-state='ready']").WaitForAsync();
        }

        await page.Page.Locator(".node[data-node='database']").WaitForAsync();
        await WaitForAsync(page, "document.getElementById('vip-owner').textContent === 'lb-1'", TimeSpan.FromSeconds(10));
        Assert.Equal("VRRP master · priority 200", await page.Page.TextContentAsync(".node[data-node='lb-1'] .vrrp"));

        // The API refuses an action without the token, and with a wrong one: lb-1 stays.
        foreach (var authorization in new AuthenticationHeaderValue?[] { null, new("Bearer", "wrong-" + token) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Dashboard, "/api/nodes/lb-1/kill")) { Headers = { Authorization = authorization } };
            using var refused = await Run.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        Assert.Equal("ready", EndToEndRun.State(await Run.StatusAsync(), "lb-1"));

        // Kill lb-1 from its panel (the button asks twice, then the page asks for the token once).
        await page.Page.ClickAsync(".node[data-node='lb-1']");
        await page.Page.ClickAsync("#panel-actions button[data-action='kill']");
        await page.Page.ClickAsync("#panel-actions button[data-action='kill']");
        await page.Page.FillAsync("#token-input", token);
        var killed = Stopwatch.StartNew();
        await page.Page.ClickAsync("#token-use");
        await WaitForAsync(
            page,
            "document.getElementById('vip-owner').textContent === 'lb-2' && document.querySelector(\".node[data-node='lb-1']\").dataset.state === 'down'",
            TimeSpan.FromSeconds(5));
        output.WriteLine($"the page showed lb-1 down and lb-2 holding the VIP {killed.ElapsedMilliseconds} ms after the kill was asked for");
        Assert.Equal("down", EndToEndRun.State(await Run.StatusAsync(), "lb-1"));

        // Start it again from the panel: back, and the VIP with it (preemption).
        await page.Page.ClickAsync("#panel-actions button[data-action='start']");
        await page.Page.Locator(".node[data-node='lb-1'][data-state='ready']").WaitForAsync(new() { Timeout = 90_000 });
        await WaitForAsync(page, "document.getElementById('vip-owner').textContent === 'lb-1'", TimeSpan.FromSeconds(15));

        // Drain web-2 from its panel: the proxies in front say so, and the page; then ready again.
        await page.Page.ClickAsync(".node[data-node='web-2']");
        await page.Page.ClickAsync("#panel-actions button[data-action='drain']");
        await page.Page.Locator(".node[data-node='web-2'][data-state='draining']").WaitForAsync(new() { Timeout = 10_000 });
        await page.Page.ClickAsync("#panel-actions button[data-action='ready']");
        await page.Page.Locator(".node[data-node='web-2'][data-state='ready']").WaitForAsync(new() { Timeout = 10_000 });

        // Scale web to 3 with the tier's +: web-3 appears, then ready, with its edges; the page says when it is in rotation.
        await page.Page.ClickAsync(".tier[data-tier='web'] .scale button[data-delta='1']");
        await page.Page.Locator(".node[data-node='web-3'][data-state='ready']").WaitForAsync(new() { Timeout = 120_000 });
        await page.Page.Locator("#edges path[data-edge='lb-1>web-3']").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        await page.Page.Locator("#toast", new() { HasTextString = "web-3 in rotation" }).WaitForAsync(new() { State = WaitForSelectorState.Attached, Timeout = 120_000 });
        Assert.Equal("3", await page.Page.TextContentAsync(".tier[data-tier='web'] .scale .size"));
        Assert.Contains("\"name\": \"web-3\"", await File.ReadAllTextAsync(Run.TopologyPath));

        // Requests through the VIP (a few seconds of them, one at a time) show as lb-1's rate and as traffic on its edges.
        var load = Stopwatch.StartNew();
        for (var i = 0; load.Elapsed < TimeSpan.FromSeconds(4); i++)
        {
            using var response = await Run.GetAsync(i % 2 == 0 ? "/static/site.css" : "/api/messages?limit=1");
            Assert.True(response.IsSuccessStatusCode, $"request {i}: {(int)response.StatusCode}");
        }

        await WaitForAsync(page, "parseFloat(document.querySelector(\".node[data-node='lb-1'] .numbers\").textContent) > 0", TimeSpan.FromSeconds(5));
        Assert.True(await page.Page.Locator("#edges path.flow[data-edge='vip>lb-1']").CountAsync() == 1, "the VIP's edge to lb-1 shows no traffic");

        Directory.CreateDirectory(Results);
        await page.Page.ClickAsync(".node[data-node='web-3']");
        await page.Page.Locator("#panel-log").WaitForAsync();
        await page.Page.SetViewportSizeAsync(1440, 900);
        await page.Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Results, "dashboard.png"), FullPage = true });

        // On a phone the tiers stack, front to back.
        await page.Page.ClickAsync("#panel-close");
        await page.Page.SetViewportSizeAsync(390, 844);
        var lb = await page.Page.Locator(".tier[data-tier='lb']").BoundingBoxAsync();
        var web = await page.Page.Locator(".tier[data-tier='web']").BoundingBoxAsync();
        Assert.True(web!.Y >= lb!.Y + lb.Height, $"the web tier (y {web.Y}) is not below the load balancers (y {lb.Y}, height {lb.Height}) on a phone");
        Assert.True(await page.Page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"), "the page is wider than a phone");
        await page.Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Results, "dashboard-phone.png"), FullPage = true });

        Assert.True(page.Problems.Count == 0, string.Join("\n", page.Problems));

        // down stops the dashboard's own process, by the PID the run recorded.
        var run = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Run.Directory, ".strata", "run.json")))!;
        var pid = run["dashboard"]!["pid"]!.GetValue<int>();
        Assert.True(Directory.Exists($"/proc/{pid}"), "the dashboard's process is not running");
        await Run.StrataAsync("down");
        Assert.True(await Eventually.TrueAsync(() => Task.FromResult(!Directory.Exists($"/proc/{pid}"))), $"the dashboard (pid {pid}) still runs after down");
        await Assert.ThrowsAsync<HttpRequestException>(() => Run.Client.GetAsync(Dashboard));
    }

    private static async Task WaitForAsync(BrowserPage page, string condition, TimeSpan within)
    {
        try
        {
            await page.Page.WaitForFunctionAsync($"() => {condition}", null, new PageWaitForFunctionOptions { Timeout = (float)within.TotalMilliseconds, PollingInterval = 50 });
        }
        catch (TimeoutException)
        {
            var state = await page.Page.EvaluateAsync<string>("document.getElementById('tiers').innerText");
            Assert.Fail($"not within {within.TotalSeconds} s: {condition}\nthe page showed:\n{state}");
        }
    }
}
