using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Strata.Cluster.Election;
using Strata.Hosting.Logs;
using Strata.Hosting.Processes;
using Strata.LoadBalancer;
using Strata.Proxy.Routing;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.Proxy.RequestLog;

/// <summary>
/// A load balancer's request log, read as an operator reads it: one line per request with HAProxy's httplog fields
/// (and the same as JSON) for a served, a retried, a timed-out, an aborted and a refused request, through the VIP (the
/// connection path) and the node's own address (Kestrel's); and a reopen after the file was rotated away.
/// </summary>
public sealed class RequestLogTests(RequestLogTests.Cluster cluster) : IClassFixture<RequestLogTests.Cluster>
{
    // client:port [date] frontend route pool/server TR/Tw/Tc/Tr/Ta status bytes retries termination "request"
    private static readonly Regex Line = new(
        @"^(?<client>[\d.]+):(?<port>\d+) \[(?<date>\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3})\] (?<frontend>\S+) (?<route>\S+) (?<pool>[^/ ]+)/(?<server>\S+) " +
        @"(?<tr>-?\d+)/(?<tw>-?\d+)/(?<tc>-?\d+)/(?<tres>-?\d+)/(?<ta>-?\d+) (?<status>-?\d+) (?<bytes>-?\d+) (?<retries>\d+) (?<term>\S\S) ""(?<request>[^""]*)""$");

    [Theory]
    [InlineData(true, "vip")]
    [InlineData(false, "lb-1")]
    public async Task Served_OneLineWithEveryField(bool throughVip, string frontend)
    {
        var path = $"/served/{Guid.NewGuid():N}?q=1";
        using var response = await cluster.GetAsync(throughVip, path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();

        var line = await cluster.TextLineAsync(path);
        Assert.Equal("127.0.0.1", line.Groups["client"].Value);
        Assert.Equal(frontend, line.Groups["frontend"].Value);
        Assert.Equal("default", line.Groups["route"].Value);
        Assert.Equal("web/web-1", $"{line.Groups["pool"].Value}/{line.Groups["server"].Value}");
        Assert.Equal("200", line.Groups["status"].Value);
        Assert.Equal(Encoding.UTF8.GetByteCount(body).ToString(), line.Groups["bytes"].Value);
        Assert.Equal("0", line.Groups["retries"].Value);
        Assert.Equal("--", line.Groups["term"].Value);
        Assert.Equal($"GET {path} HTTP/1.1", line.Groups["request"].Value);
        // Every phase reached; TR only where the first byte's arrival is seen (the connection path), Ta the longest.
        Assert.True(throughVip ? int.Parse(line.Groups["tr"].Value) >= 0 : line.Groups["tr"].Value == "-1", line.Value);
        Assert.True(int.Parse(line.Groups["tw"].Value) >= 0 && int.Parse(line.Groups["tc"].Value) >= 0 && int.Parse(line.Groups["tres"].Value) >= 0);
        Assert.True(int.Parse(line.Groups["ta"].Value) >= int.Parse(line.Groups["tres"].Value));
        var date = DateTime.ParseExact(line.Groups["date"].Value, "dd/MMM/yyyy:HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(date, DateTime.Now.AddMinutes(-1), DateTime.Now.AddSeconds(1));

        var json = await cluster.JsonLineAsync(path);
        Assert.Equal("lb-2", json["frontend"]!.GetValue<string>());
        Assert.Equal("web-1", json["server"]!.GetValue<string>());
        Assert.Equal(200, json["status"]!.GetValue<int>());
        Assert.Equal("--", json["termination"]!.GetValue<string>());
        Assert.Equal(path, json["target"]!.GetValue<string>());
        Assert.True(json["totalMs"]!.GetValue<double>() >= json["responseMs"]!.GetValue<double>());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Retried_CountsTheRetryAndNamesTheServerThatAnswered(bool throughVip)
    {
        // The retry pool's flaky-1 closes every connection without an answer; good-1 answers. Round robin sends some
        // requests to flaky-1 first: retried on good-1 (GET: empty-response is retried).
        var paths = Enumerable.Range(0, 2).Select(_ => $"/retry/{Guid.NewGuid():N}").ToList();
        foreach (var path in paths)
        {
            using var response = await cluster.GetAsync(throughVip, path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var lines = new List<Match>();
        foreach (var path in paths)
        {
            lines.Add(await cluster.TextLineAsync(path));
        }

        // Two requests in turn: at least one went to flaky-1 first. Every line names the server that answered.
        Assert.Contains(lines, l => l.Groups["retries"].Value == "1");
        Assert.All(lines, l =>
        {
            Assert.Contains(l.Groups["retries"].Value, new[] { "0", "1" });
            Assert.Equal("retry/good-1", $"{l.Groups["pool"].Value}/{l.Groups["server"].Value}");
            Assert.Equal("200", l.Groups["status"].Value);
            Assert.Equal("--", l.Groups["term"].Value);
        });
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ServerTimeout_504_sH(bool throughVip)
    {
        var path = $"/slow/{Guid.NewGuid():N}";
        using var response = await cluster.GetAsync(throughVip, path);
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);

        var line = await cluster.TextLineAsync(path);
        Assert.Equal("504", line.Groups["status"].Value);
        Assert.Equal("sH", line.Groups["term"].Value);
        Assert.Equal("slow/slow-1", $"{line.Groups["pool"].Value}/{line.Groups["server"].Value}");
        Assert.Equal("-1", line.Groups["tres"].Value);
        // The server timeout is 300 ms: the request lasted about that (its timer may fire a few milliseconds early).
        Assert.True(int.Parse(line.Groups["ta"].Value) >= 250, line.Value);
        Assert.NotEqual("-1", line.Groups["bytes"].Value);
    }

    [Fact]
    public async Task ClientAbortsBeforeTheAnswer_CH_NoStatus()
    {
        // Through Kestrel's way in, which sees a client go away at once (the connection path notices on its next write).
        var path = $"/slow/{Guid.NewGuid():N}";
        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await socket.ConnectAsync(cluster.Node.Host, cluster.Node.Port);
            await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: www.foobar.com\r\n\r\n"));
            await Task.Delay(100);
        }

        var line = await cluster.TextLineAsync(path);
        Assert.Equal("CH", line.Groups["term"].Value);
        Assert.Equal("-1", line.Groups["status"].Value);
        Assert.Equal("slow-1", line.Groups["server"].Value);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task RefusedByTheProxy_PR_NoServer(bool throughVip)
    {
        // The limited route allows a burst of 1: the second request is refused with 429 before any server.
        var path = $"/limited/{Guid.NewGuid():N}";
        using var first = await cluster.GetAsync(throughVip, path);
        using var second = await cluster.GetAsync(throughVip, path + "?again");
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);

        var line = await cluster.TextLineAsync(path + "?again");
        Assert.Equal("429", line.Groups["status"].Value);
        Assert.Equal("PR", line.Groups["term"].Value);
        Assert.Equal("limited", line.Groups["route"].Value);
        Assert.Equal("-", line.Groups["server"].Value);
        Assert.Equal("-1", line.Groups["tc"].Value);
        Assert.NotEqual("0", line.Groups["bytes"].Value);
    }

    [Fact]
    public async Task Reopen_AfterTheFileIsRotatedAway_LinesGoToANewFile()
    {
        var rotated = cluster.TextLog + ".1";
        File.Move(cluster.TextLog, rotated, overwrite: true);
        // What SIGUSR1 runs (LogReopening's handler); the signal itself is sent to real nodes in the end-to-end tests.
        cluster.Reopen();
        await Task.Delay(LogFileWriter<int>.DrainInterval * 3);

        var path = $"/served/{Guid.NewGuid():N}";
        using var response = await cluster.GetAsync(true, path);
        var line = await cluster.TextLineAsync(path);
        Assert.Equal("200", line.Groups["status"].Value);
        Assert.DoesNotContain(path, await File.ReadAllTextAsync(rotated));
    }

    /// <summary>Two load balancers (one with each format) in front of fake web servers: web, a retry pool, a slow pool.</summary>
    public sealed class Cluster : IAsyncLifetime
    {
        private static readonly HttpClient Client = new(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.Zero }) { Timeout = TimeSpan.FromSeconds(15) };

        private readonly string _directory = Directory.CreateTempSubdirectory("strata-requestlog-").FullName;
        private readonly List<IAsyncDisposable> _servers = [];
        private WebApplication? _text;
        private WebApplication? _json;
        private Uri _jsonNode = null!;

        public Uri Node { get; private set; } = null!;

        public Uri Vip { get; private set; } = null!;

        public string TextLog => Path.Combine(_directory, "lb-1.requests.log");

        private string JsonLog => Path.Combine(_directory, "lb-2.requests.log");

        public async Task InitializeAsync()
        {
            var web = await UpstreamAsync("web-1");
            var flaky = await UpstreamAsync("flaky-1");
            flaky.Behavior = context =>
            {
                context.Abort();
                return Task.CompletedTask;
            };
            var good = await UpstreamAsync("good-1");
            var slow = await UpstreamAsync("slow-1");
            slow.Behavior = async context => await Task.Delay(TimeSpan.FromSeconds(2), context.RequestAborted);
            var backend = TestTopology.FastBackend;
            var topology = TestTopology.Create(
                loadBalancers: [TestTopology.Node("lb-1", NodeRole.LoadBalancer), TestTopology.Node("lb-2", NodeRole.LoadBalancer)],
                webNodes: [TestTopology.Node("web-1", NodeRole.Web, web.Url)],
                webBackend: backend) with
            {
                WebPools =
                [
                    new PoolSpec("retry", [TestTopology.Node("flaky-1", NodeRole.Web, flaky.Url), TestTopology.Node("good-1", NodeRole.Web, good.Url)], backend with { PassiveFailures = 0 }),
                    new PoolSpec("slow", [TestTopology.Node("slow-1", NodeRole.Web, slow.Url)], backend with { ServerTimeout = TimeSpan.FromMilliseconds(300), Retries = 0, PassiveFailures = 0 }),
                ],
                LoadBalancerRoutes =
                [
                    new RouteSpec("retry", new RouteMatchSpec([], ["/retry/"], [], []), "retry", [], []),
                    new RouteSpec("slow", new RouteMatchSpec([], ["/slow/"], [], []), "slow", [], []),
                    new RouteSpec("limited", new RouteMatchSpec([], ["/limited/"], [], []), "web", [new RateLimitRule(1, 1)], []),
                ],
            };

            // lb-1 writes httplog and holds the VIP; lb-2 (a VRRP port of its own, so it never takes the VIP) writes JSON.
            (_text, Node) = await NodeAsync(topology with { RequestLog = new LogFileSpec(Path.Combine(_directory, "{node}.requests.log"), LogFileSpec.HttpLog) }, "lb-1");
            (_json, _jsonNode) = await NodeAsync(
                topology with
                {
                    RequestLog = new LogFileSpec(Path.Combine(_directory, "{node}.requests.log"), LogFileSpec.Json),
                    Vrrp = topology.Vrrp with { Port = FreePorts.TcpAndUdp() },
                    Vip = new IPEndPoint(IPAddress.Loopback, FreePorts.Tcp()),
                },
                "lb-2");
            Vip = new Uri($"http://{topology.Vip}/");
            Assert.True(await Eventually.TrueAsync(() => Task.FromResult(_text.Services.GetRequiredService<VipStatus>().HoldsVip)), "the load balancer never took the VIP");
            foreach (var app in new[] { _text, _json })
            {
                var backends = app.Services.GetRequiredService<Backends>();
                Assert.True(await Eventually.TrueAsync(() => Task.FromResult(backends.All.All(p => p.HealthyCount == p.Members.Length))), "the web servers never came up");
            }

            async Task<FakeUpstream> UpstreamAsync(string name)
            {
                var server = await FakeUpstream.StartAsync(name);
                _servers.Add(server);
                return server;
            }
        }

        public async Task<HttpResponseMessage> GetAsync(bool throughVip, string path)
        {
            var response = await Client.GetAsync(new Uri(throughVip ? Vip : Node, path));
            // The same request to the JSON node, whose log the tests read too.
            using var _ = await Client.GetAsync(new Uri(_jsonNode, path));
            return response;
        }

        /// <summary>The httplog line of the request for <paramref name="target"/> (the writer flushes within a second).</summary>
        public async Task<Match> TextLineAsync(string target)
        {
            Match? found = null;
            await Eventually.TrueAsync(() =>
            {
                found = ReadLines(TextLog).Where(l => l.Contains($" {target} ", StringComparison.Ordinal)).Select(l => Line.Match(l)).FirstOrDefault();
                return Task.FromResult(found is not null);
            }, TimeSpan.FromSeconds(10));
            Assert.True(found is not null, $"no line for {target} in {TextLog}:\n{string.Join("\n", ReadLines(TextLog).TakeLast(10))}");
            Assert.True(found!.Success, $"the line for {target} is not in the documented format: {found.Value}");
            return found;
        }

        /// <summary>The JSON line of the request for <paramref name="target"/> on the second node.</summary>
        public async Task<JsonNode> JsonLineAsync(string target)
        {
            JsonNode? found = null;
            await Eventually.TrueAsync(() =>
            {
                found = ReadLines(JsonLog).Select(l => JsonNode.Parse(l)!).FirstOrDefault(j => j["target"]?.GetValue<string>() == target);
                return Task.FromResult(found is not null);
            }, TimeSpan.FromSeconds(10));
            return found ?? throw new Xunit.Sdk.XunitException($"no line for {target} in {JsonLog}");
        }

        public void Reopen() => _text!.Services.GetRequiredService<LogReopening>().Reopen();

        public async Task DisposeAsync()
        {
            foreach (var app in new[] { _text, _json })
            {
                if (app is not null)
                {
                    await app.StopAsync();
                    await app.DisposeAsync();
                }
            }

            foreach (var server in _servers)
            {
                await server.DisposeAsync();
            }

            Directory.Delete(_directory, recursive: true);
        }

        private static async Task<(WebApplication App, Uri Node)> NodeAsync(Strata.Topology.Topology topology, string name)
        {
            var app = LoadBalancerNode.Build(topology, topology.LoadBalancers.Single(n => n.Name == name));
            await app.StartAsync();
            return (app, new Uri(app.Urls.First()));
        }

        private static IEnumerable<string> ReadLines(string path)
        {
            if (!File.Exists(path))
            {
                return [];
            }

            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }
    }
}
