using System.Net;
using System.Text.Json.Nodes;
using Strata.Tests.Common;

namespace Strata.Tests.EndToEnd;

/// <summary>
/// Bring your own application, as a user runs it: <c>strata up</c> with <c>app.command</c> running the repository's
/// Python example (python3, standard library only) on both app nodes; dynamic requests through the VIP reach both,
/// and a SIGKILL of one node's Python process is survived with no failed GET (the web tier retries the app node's
/// 503 elsewhere while the node restarts its application).
/// </summary>
public sealed class OwnAppEndToEndTests : IAsyncLifetime
{
    private readonly EndToEndRun _run = EndToEndRun.Create(json => json["app"]!["command"] = new JsonObject
    {
        ["run"] = new JsonArray("python3", Path.Combine(TestTopology.RepositoryRoot, "examples", "python-app", "app.py")),
        ["healthPath"] = "/healthz",
    });

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _run.DisposeAsync();

    [Fact]
    public async Task Up_PythonAppOnBothNodes_ServesThroughTheVip_AndSurvivesAKilledApplication()
    {
        await _run.StrataAsync(TimeSpan.FromSeconds(120), "up", "--detach");

        // Both app nodes' Python processes answer through the VIP (round robin over the app tier).
        var pids = new Dictionary<string, int>();
        for (var i = 0; i < 20 && pids.Count < 2; i++)
        {
            var (node, pid) = await HelloAsync();
            pids[node] = pid;
        }

        Assert.Equal(["app-1", "app-2"], pids.Keys.Order());
        Assert.All(pids.Values, pid => Assert.Contains("app.py", File.ReadAllText($"/proc/{pid}/cmdline"), StringComparison.Ordinal));

        // A client's own X-Forwarded-For never reaches the application: through the VIP it is the client's address then
        // the load balancer's (appended by the web node); straight at an app node, the client's address alone.
        Assert.Matches(@"^127\.0\.0\.1, 127\.0\.1\.[12]$", await ForwardedForAsync(_run.Site));
        var app1 = (await _run.StatusAsync())["nodes"]!.AsArray().Single(n => n!["name"]!.GetValue<string>() == "app-1")!["address"]!.GetValue<string>();
        Assert.Equal("127.0.0.1", await ForwardedForAsync(new Uri($"http://{app1}/")));

        // SIGKILL app-1's application (not the node) in the middle of 300 GETs through the VIP: none fails.
        var failed = new List<string>();
        for (var i = 0; i < 300; i++)
        {
            if (i == 50)
            {
                Process(pids["app-1"]).Kill();
            }

            try
            {
                using var response = await _run.GetAsync("/api/hello");
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    failed.Add($"GET {i}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
            }
            catch (HttpRequestException ex)
            {
                failed.Add($"GET {i}: {ex.Message}");
            }
        }

        Assert.True(failed.Count == 0, $"{failed.Count} of 300 GETs failed: {string.Join("; ", failed.Take(5))}");

        // app-1 restarted its application: a new Python process serves through the VIP.
        var restarted = 0;
        Assert.True(
            await Eventually.TrueAsync(
                async () =>
                {
                    var (node, pid) = await HelloAsync();
                    restarted = node == "app-1" ? pid : restarted;
                    return restarted != 0 && restarted != pids["app-1"];
                },
                TimeSpan.FromSeconds(30)),
            "app-1 did not serve from a new application process");
    }

    private async Task<(string Node, int Pid)> HelloAsync()
    {
        using var response = await _run.GetAsync("/api/hello");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return (EndToEndRun.Header(response, "X-Served-By"), body["pid"]!.GetValue<int>());
    }

    /// <summary>The X-Forwarded-For the application received for a request that claimed 6.6.6.6, sent to <paramref name="site"/>.</summary>
    private async Task<string?> ForwardedForAsync(Uri site)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(site, "/api/hello"));
        request.Headers.Host = "www.foobar.com";
        request.Headers.Add("X-Forwarded-For", "6.6.6.6");
        using var response = await _run.Client.SendAsync(request);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["forwardedFor"]?.GetValue<string>();
    }

    private static System.Diagnostics.Process Process(int pid) => System.Diagnostics.Process.GetProcessById(pid);
}
