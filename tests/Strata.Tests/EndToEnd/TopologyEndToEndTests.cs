using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Strata.Tests.Common;
using Strata.Tests.Dns;

namespace Strata.Tests.EndToEnd;

/// <summary>
/// The whole seed as a user runs it: <c>strata up --detach</c> on a copy of the default topology (same
/// addresses, other ports, its own folder, so a running default topology is left alone), then DNS, static
/// and dynamic pages and a write through the VIP, the loss of the VIP owner, and <c>down</c>.
/// </summary>
public sealed class TopologyEndToEndTests : IAsyncLifetime
{
    private static readonly TimeSpan UpTimeout = TimeSpan.FromSeconds(120);

    private readonly string _dir = Directory.CreateTempSubdirectory("strata-e2e-").FullName;
    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.Zero })
    {
        Timeout = TimeSpan.FromSeconds(10),
    };

    private string _topologyPath = null!;
    private int _dnsPort;
    private int _vipPort;

    public Task InitializeAsync()
    {
        var json = TestTopology.DefaultJson();
        _dnsPort = TestTopology.FreeUdpAndTcpPort();
        json["dns"]!["address"] = $"127.0.0.1:{_dnsPort}";
        json["dns"]!["management"] = $"127.0.0.1:{TestTopology.FreeTcpPort()}";
        var httpAddresses = new[] { json["vip"]!["address"]! }
            .Concat(new[] { "loadBalancers", "web", "app" }.SelectMany(tier => json[tier]!["nodes"]!.AsArray().Select(n => n!["address"]!)))
            .Select(a => IPEndPoint.Parse(a.GetValue<string>()).Address)
            .ToList();
        _vipPort = PortFreeOnAll(httpAddresses);
        var managementPort = PortFreeOnAll(httpAddresses, except: _vipPort);
        json["vip"]!["address"] = $"127.0.0.100:{_vipPort}";
        json["vip"]!["port"] = TestTopology.FreeUdpAndTcpPort();
        foreach (var tier in new[] { "loadBalancers", "web", "app" })
        {
            foreach (var node in json[tier]!["nodes"]!.AsArray())
            {
                var address = IPEndPoint.Parse(node!["address"]!.GetValue<string>()).Address;
                node["address"] = $"{address}:{_vipPort}";
                node["management"] = $"{address}:{managementPort}";
            }
        }

        _topologyPath = TestTopology.Write(json, _dir);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        // Whatever happened above, leave no process behind.
        await StrataCli.RunAsync("down", "-f", _topologyPath);
        _client.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Up_WholeSeed_ServesThroughTheVipSurvivesLosingItsOwnerAndDownStopsAll()
    {
        // up --detach: every node ready.
        var up = await StrataCli.RunAsync(UpTimeout, "up", "--detach", "-f", _topologyPath);
        Assert.True(up.ExitCode == 0, $"up failed ({up.ExitCode}): {up.Output}{up.Error}");
        var status = await StatusAsync();
        var nodes = status["nodes"]!.AsArray();
        Assert.Equal(["dns", "lb-1", "lb-2", "web-1", "web-2", "app-1", "app-2"], nodes.Select(n => n!["name"]!.GetValue<string>()));
        Assert.All(nodes, n => Assert.True(n!["state"]!.GetValue<string>() == "ready", $"{n["name"]} is {n["state"]} after up: {up.Output}"));
        var pids = nodes.Select(n => n!["pid"]!.GetValue<int>()).ToList();
        var owner = status["vip"]!["owner"]!.GetValue<string>();
        Assert.Contains(owner, new[] { "lb-1", "lb-2" });

        // DNS: www.foobar.com is the VIP, resolved by the real dig.
        var answer = (await Dig.QueryAsync(_dnsPort, "www.foobar.com", "A", "+short")).Trim();
        Assert.Equal("127.0.0.100", answer);
        var site = new Uri($"http://{answer}:{_vipPort}/");

        // A static file: served by a web node, through the VIP owner.
        using (var css = await GetAsync(new Uri(site, "/static/site.css")))
        {
            Assert.Equal(HttpStatusCode.OK, css.StatusCode);
            Assert.Equal("text/css", css.Content.Headers.ContentType?.MediaType);
            Assert.Equal($"1.1 {owner}", Header(css, "Via"));
            Assert.Matches("^web-[12]$", Header(css, "X-Served-By"));
        }

        // The home page: rendered by an app node, through a web node and the VIP owner.
        using (var home = await GetAsync(site))
        {
            Assert.Equal(HttpStatusCode.OK, home.StatusCode);
            Assert.Equal("text/html", home.Content.Headers.ContentType?.MediaType);
            Assert.Matches($"^1\\.1 web-[12], 1\\.1 {owner}$", Header(home, "Via"));
            Assert.Matches("^app-[12]$", Header(home, "X-Served-By"));
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
        using (var created = await _client.SendAsync(post))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        using (var list = await GetAsync(new Uri(site, "/api/messages")))
        {
            var messages = JsonNode.Parse(await list.Content.ReadAsStringAsync())!.AsArray();
            Assert.Equal(text, messages[0]!["text"]!.GetValue<string>());
        }

        // SIGKILL a web node under a steady stream of GETs through the VIP: retries hide it from every client.
        var (afterKill, failed) = await GetsWhileKillingAsync(site, "web-1");
        Assert.True(afterKill >= 50, $"only {afterKill} requests were sent after the kill");
        Assert.True(failed.Count == 0, $"{failed.Count} requests failed: {string.Join("; ", failed.Take(5))}");

        // Kill the VIP owner: the other load balancer takes the VIP by itself.
        var kill = await StrataCli.RunAsync("kill", owner, "-f", _topologyPath);
        Assert.True(kill.ExitCode == 0, kill.Output + kill.Error);
        var other = owner == "lb-1" ? "lb-2" : "lb-1";
        Assert.True(
            await Eventually.TrueAsync(async () => await TryViaAsync(site) == $"1.1 {other}", TimeSpan.FromSeconds(15)),
            $"{other} did not answer on the VIP after {owner} was killed");
        status = await StatusAsync();
        Assert.Equal(other, status["vip"]!["owner"]!.GetValue<string>());
        Assert.Equal("down", status["nodes"]!.AsArray().Single(n => n!["name"]!.GetValue<string>() == owner)!["state"]!.GetValue<string>());

        // down: every process is gone.
        var down = await StrataCli.RunAsync("down", "-f", _topologyPath);
        Assert.True(down.ExitCode == 0, down.Output + down.Error);
        Assert.All(pids, pid => Assert.False(File.Exists($"/proc/{pid}/cmdline") && File.ReadAllText($"/proc/{pid}/cmdline").Contains(_topologyPath), $"pid {pid} still runs"));
        Assert.False((await StatusAsync())["running"]!.GetValue<bool>());
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
        var kill = await StrataCli.RunAsync("kill", victim, "-f", _topologyPath);
        Assert.True(kill.ExitCode == 0, kill.Output + kill.Error);
        await Task.WhenAll(clients);
        return (Math.Min(Volatile.Read(ref sent), Total) - sentAtKill, failed);
    }

    private async Task<JsonNode> StatusAsync()
    {
        var result = await StrataCli.RunAsync("status", "--json", "-f", _topologyPath);
        Assert.True(result.ExitCode == 0, result.Error);
        return JsonNode.Parse(result.Output)!;
    }

    private async Task<HttpResponseMessage> GetAsync(Uri uri)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.Host = "www.foobar.com";
        return await _client.SendAsync(request);
    }

    private async Task<string?> TryViaAsync(Uri site)
    {
        try
        {
            using var response = await GetAsync(new Uri(site, "/static/site.css"));
            return response.IsSuccessStatusCode ? Header(response, "Via") : null;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(", ", values) : "";

    /// <summary>A port free on every one of <paramref name="addresses"/>, so each node can bind its own.</summary>
    private static int PortFreeOnAll(IReadOnlyList<IPAddress> addresses, int except = 0)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var port = TestTopology.FreeTcpPort(addresses[0]);
            if (port != except && addresses.All(a => IsFree(a, port)))
            {
                return port;
            }
        }

        throw new InvalidOperationException("no port free on every topology address after 50 attempts");
    }

    private static bool IsFree(IPAddress address, int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(address, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
