using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Strata.Tests.Common;
using Strata.Tests.Dns;

namespace Strata.Tests.EndToEnd;

/// <summary>
/// The whole seed as a user runs it: a foreground <c>strata up</c> on a copy of the default topology (same
/// addresses, other ports, its own folder, so a running default topology is left alone), then DNS, static
/// and dynamic pages and a write through the VIP, the loss of the VIP owner and its restart, which the foreground
/// <c>up</c> reports, and <c>down</c> from another terminal, which ends it.
/// </summary>
public sealed class TopologyEndToEndTests : IAsyncLifetime
{
    private static readonly TimeSpan UpTimeout = TimeSpan.FromSeconds(120);

    private readonly EndToEndRun _run = EndToEndRun.Create();
    private ForegroundServer? _up;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        // down first: a foreground up still running sees the run stopped and ends by itself.
        await _run.DisposeAsync();
        if (_up is not null)
        {
            await _up.DisposeAsync();
        }
    }

    [Fact]
    public async Task Up_WholeSeed_ServesThroughTheVipSurvivesLosingItsOwnerAndDownStopsAll()
    {
        // up in the foreground, as a user runs it: every node ready.
        var up = _up = StrataCli.Start("up", "-f", _run.TopologyPath);
        Assert.True(await Eventually.TrueAsync(() => Task.FromResult(up.Log.Contains("Press Ctrl+C to stop.") || up.HasExited), UpTimeout), up.Log);
        Assert.False(up.HasExited, up.Log);
        var status = await _run.StatusAsync();
        var nodes = status["nodes"]!.AsArray();
        Assert.Equal(["dns", "lb-1", "lb-2", "web-1", "web-2", "app-1", "app-2"], nodes.Select(n => n!["name"]!.GetValue<string>()));
        Assert.All(nodes, n => Assert.True(n!["state"]!.GetValue<string>() == "ready", $"{n["name"]} is {n["state"]} after up: {up.Log}"));
        var pids = nodes.Select(n => n!["pid"]!.GetValue<int>()).ToList();
        var owner = status["vip"]!["owner"]!.GetValue<string>();
        Assert.Contains(owner, new[] { "lb-1", "lb-2" });

        // Every load balancer and web node warmed up (requests of its own through its way in) before it said ready.
        var logs = Path.Combine(_run.Directory, ".strata", "logs");
        foreach (var node in new[] { "lb-1", "lb-2", "web-1", "web-2" })
        {
            Assert.Contains("Warmed up: ", File.ReadAllText(Path.Combine(logs, $"{node}.log")));
        }

        // DNS: www.foobar.com is the VIP, resolved by the real dig.
        var answer = (await Dig.QueryAsync(_run.DnsPort, "www.foobar.com", "A", "+short")).Trim();
        Assert.Equal(_run.Site.Host, answer);
        var site = _run.Site;

        // A static file: served by a web node, through the VIP owner.
        using (var css = await GetAsync(new Uri(site, "/static/site.css")))
        {
            Assert.Equal(HttpStatusCode.OK, css.StatusCode);
            Assert.Equal("text/css", css.Content.Headers.ContentType?.MediaType);
            Assert.Equal($"1.1 {owner}", EndToEndRun.Header(css, "Via"));
            Assert.Matches("^web-[12]$", EndToEndRun.Header(css, "X-Served-By"));
        }

        // The home page: rendered by an app node, through a web node and the VIP owner.
        using (var home = await GetAsync(site))
        {
            Assert.Equal(HttpStatusCode.OK, home.StatusCode);
            Assert.Equal("text/html", home.Content.Headers.ContentType?.MediaType);
            Assert.Matches($"^1\\.1 web-[12], 1\\.1 {owner}$", EndToEndRun.Header(home, "Via"));
            Assert.Matches("^app-[12]$", EndToEndRun.Header(home, "X-Served-By"));
            Assert.Contains("guestbook-form", await home.Content.ReadAsStringAsync());
        }

        // The nodes' management routes answer on their management addresses only, not through the VIP.
        using (var stats = await GetAsync(new Uri(site, "/stats")))
        {
            Assert.Equal(HttpStatusCode.NotFound, stats.StatusCode);
        }

        // A write through the VIP, read back through the VIP.
        var text = $"hello from the end-to-end test {Guid.NewGuid():N}";
        using var post = new HttpRequestMessage(HttpMethod.Post, new Uri(site, "/api/messages"))
        {
            Content = JsonContent.Create(new { author = "e2e", text }),
        };
        post.Headers.Host = "www.foobar.com";
        using (var created = await _run.Client.SendAsync(post))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        using (var list = await GetAsync(new Uri(site, "/api/messages")))
        {
            var messages = JsonNode.Parse(await list.Content.ReadAsStringAsync())!.AsArray();
            Assert.Equal(text, messages[0]!["text"]!.GetValue<string>());
        }

        // The VIP owner's request log has the write, and after a rotation (the files moved away) `strata reopen-logs`
        // has every node write new ones: the load balancer's request log, the web nodes' access logs, the nodes' own logs.
        var requestLog = Path.Combine(logs, $"{owner}.requests.log");
        Assert.True(
            await Eventually.TrueAsync(() => Task.FromResult(File.Exists(requestLog) && File.ReadAllText(requestLog).Contains(" 201 ") && File.ReadAllText(requestLog).Contains("\"POST /api/messages HTTP/1.1\"")), TimeSpan.FromSeconds(10)),
            $"no line for the write in {requestLog}");
        string[] rotated = [requestLog, Path.Combine(logs, "web-1.access.log"), Path.Combine(logs, "web-2.access.log"), Path.Combine(logs, $"{owner}.log"), Path.Combine(logs, "app-1.log")];
        // None of the warm-ups' requests is in a request or access log (the web nodes were asked for the site's files).
        Assert.All(rotated[..3], file => Assert.DoesNotContain("strata-warm-up", File.ReadAllText(file)));
        foreach (var file in rotated)
        {
            File.Move(file, file + ".1", overwrite: true);
        }

        var reopened = await _run.StrataAsync("reopen-logs");
        Assert.True(reopened.ExitCode == 0, reopened.Output + reopened.Error);
        Assert.True(
            await Eventually.TrueAsync(() => Task.FromResult(rotated.All(File.Exists)), TimeSpan.FromSeconds(10)),
            $"not reopened: {string.Join(", ", rotated.Where(f => !File.Exists(f)))}");
        using (var after = await GetAsync(new Uri(site, "/static/site.css?after-rotation")))
        {
            Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        }

        Assert.True(
            await Eventually.TrueAsync(() => Task.FromResult(File.ReadAllText(requestLog).Contains("/static/site.css?after-rotation")), TimeSpan.FromSeconds(10)),
            "the request after the rotation is not in the new request log");
        Assert.Contains("Reopened the log files after SIGUSR1", File.ReadAllText(Path.Combine(logs, $"{owner}.log")));
        Assert.DoesNotContain("after-rotation", File.ReadAllText(requestLog + ".1"));

        // SIGKILL a web node under a steady stream of GETs through the VIP: retries hide it from every client.
        var (afterKill, failed) = await GetsWhileKillingAsync(site, "web-1");
        Assert.True(afterKill >= 50, $"only {afterKill} requests were sent after the kill");
        Assert.True(failed.Count == 0, $"{failed.Count} requests failed: {string.Join("; ", failed.Take(5))}");

        // Kill the VIP owner: the other load balancer takes the VIP by itself.
        await _run.StrataAsync("kill", owner);
        var other = owner == "lb-1" ? "lb-2" : "lb-1";
        Assert.True(
            await Eventually.TrueAsync(async () => await TryViaAsync(site) == $"1.1 {other}", TimeSpan.FromSeconds(15)),
            $"{other} did not answer on the VIP after {owner} was killed");
        status = await _run.StatusAsync();
        Assert.Equal(other, status["vip"]!["owner"]!.GetValue<string>());
        Assert.Equal("down", EndToEndRun.State(status, owner));

        // The foreground up reported both exits; it watches the run, so the owner started again from another terminal
        // is noticed, and watched, as well.
        Assert.True(
            await Eventually.TrueAsync(() => Task.FromResult(Exited(up.Log, owner) && Exited(up.Log, "web-1")), TimeSpan.FromSeconds(10)),
            up.Log);
        await _run.StrataAsync("start", owner);
        var restarted = EndToEndRun.Pid(await _run.StatusAsync(), owner);
        Assert.True(
            await Eventually.TrueAsync(() => Task.FromResult(up.Log.Contains($"{owner} started (pid {restarted})") && up.Log.Contains($"{owner} (pid {restarted}) ready")), TimeSpan.FromSeconds(10)),
            up.Log);

        // down from another terminal: every process is gone, and the foreground up ends, saying why, with 0.
        await _run.StrataAsync("down");
        Assert.All(pids.Append(restarted), pid => Assert.False(File.Exists($"/proc/{pid}/cmdline") && File.ReadAllText($"/proc/{pid}/cmdline").Contains(_run.TopologyPath), $"pid {pid} still runs"));
        Assert.False((await _run.StatusAsync())["running"]!.GetValue<bool>());
        Assert.Equal(0, await up.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("'strata down' is stopping the run from another terminal", up.Log);
        Assert.Contains("stopped by 'strata down'", up.Log);
        Assert.DoesNotContain("stopped 7 node(s)", up.Log);
    }

    /// <summary>
    /// Four clients send GETs (a static file and the dynamic API in turn), 600 in all; <paramref name="victim"/>
    /// is SIGKILLed once 150 have been answered. Bounded by count, and by 30 s in case the machine is very busy.
    /// Returns how many were sent after the kill and what failed.
    /// </summary>
    private async Task<(int SentAfterKill, List<string> Failed)> GetsWhileKillingAsync(Uri site, string victim)
    {
        const int Total = 600;
        const int KillAfter = 150;
        var failed = new List<string>();
        var sent = 0;
        var answered = 0;
        var killNow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        async Task ClientAsync(int client)
        {
            for (var i = 0; !limit.IsCancellationRequested && Interlocked.Increment(ref sent) <= Total; i++)
            {
                var path = (client + i) % 2 == 0 ? "/static/site.css" : "/api/messages?limit=1";
                try
                {
                    using var response = await GetAsync(new Uri(site, path));
                    if (!response.IsSuccessStatusCode)
                    {
                        var body = await response.Content.ReadAsStringAsync();
                        lock (failed)
                        {
                            failed.Add($"{path}: {(int)response.StatusCode} {body}");
                        }
                    }
                }
                catch (HttpRequestException ex)
                {
                    lock (failed)
                    {
                        failed.Add($"{path}: {ex.Message}");
                    }
                }

                if (Interlocked.Increment(ref answered) == KillAfter)
                {
                    killNow.TrySetResult();
                }
            }
        }

        var clients = Enumerable.Range(0, 4).Select(ClientAsync).ToList();
        await killNow.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var sentAtKill = Volatile.Read(ref sent);
        await _run.StrataAsync("kill", victim);
        await Task.WhenAll(clients);
        return (Math.Min(Volatile.Read(ref sent), Total) - sentAtKill, failed);
    }

    private Task<HttpResponseMessage> GetAsync(Uri uri) => _run.GetAsync(uri.PathAndQuery);

    /// <summary>Whether a foreground up's output reports that <paramref name="node"/> exited.</summary>
    private static bool Exited(string log, string node) =>
        Regex.IsMatch(log, $"{node} \\(pid \\d+\\) exited; 'strata start {node}' starts it again");

    private async Task<string?> TryViaAsync(Uri site)
    {
        try
        {
            using var response = await GetAsync(new Uri(site, "/static/site.css"));
            return response.IsSuccessStatusCode ? EndToEndRun.Header(response, "Via") : null;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }
}
