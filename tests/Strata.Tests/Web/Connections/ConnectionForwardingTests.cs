using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Strata.Proxy.Clients.Connections;
using Strata.Tests.Common;
using Strata.Topology;
using Strata.Web.Static;

namespace Strata.Tests.Web.Connections;

/// <summary>
/// The web node's forwarded requests on the connection path (ClientConnection over SocketPipeWriter, with the node's
/// error pages, security headers, access log and metrics): the same answers as Kestrel's way in, which a request with
/// "Content-Length: 0" (never taken by the connection path) shows; files and forwarded answers in order on one connection;
/// management paths handed to Kestrel.
/// </summary>
public sealed class ConnectionForwardingTests : IAsyncLifetime
{
    private const string ForceKestrel = "Content-Length: 0\r\n";

    private readonly string _root = Directory.CreateTempSubdirectory("strata-connfwd-").FullName;
    private readonly string _logs = Directory.CreateTempSubdirectory("strata-connfwd-logs-").FullName;
    private FakeUpstream _app = null!;
    private WebApplication? _web;
    private Uri _address = null!;
    private byte[] _large = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(_root, "static"));
        File.WriteAllText(Path.Combine(_root, "static", "1k.txt"), new string('a', 1024));
        _large = RandomNumberGenerator.GetBytes(100 * 1024);
        File.WriteAllBytes(Path.Combine(_root, "static", "100k.bin"), _large);
        File.WriteAllText(Path.Combine(_root, "50x.html"), "<h1>sorry</h1>\n");
        _app = await FakeUpstream.StartAsync("app-1");
    }

    public async Task DisposeAsync()
    {
        await WebTestNode.StopAsync(_web);
        await _app.DisposeAsync();
        Directory.Delete(_root, recursive: true);
        Directory.Delete(_logs, recursive: true);
    }

    [Theory]
    [InlineData("GET", "/bench/json", "plain", "")]
    [InlineData("HEAD", "/bench/json", "plain", "")]
    [InlineData("GET", "/page?x=1", "plain", "Connection: close\r\nX-Forwarded-For: 203.0.113.9\r\nVia: 1.1 lb-1\r\n")]
    [InlineData("GET", "/chunked", "chunked", "")]
    [InlineData("GET", "/own", "own", "")]
    [InlineData("GET", "/big", "big", "")]
    [InlineData("GET", "/empty", "204", "")]
    public async Task Forwarded_SameAsKestrelsWayIn_HeaderByHeaderButDate(string method, string target, string behavior, string extra)
    {
        _app.Behavior = Behavior(behavior);
        await StartAsync();
        var head = $"{method} {target} HTTP/1.1\r\nHost: www.foobar.com\r\n{extra}";

        var (fastHead, fastBody) = await ExchangeAsync(head + "\r\n", method == "HEAD");
        await ForwardedAsync(1);
        var (kestrelHead, kestrelBody) = await ExchangeAsync(head + ForceKestrel + "\r\n", method == "HEAD");
        await ForwardedAsync(1);

        Assert.Equal(Lines(kestrelHead), Lines(fastHead));
        Assert.Equal(kestrelBody, fastBody);
        Assert.Contains("\r\nDate: ", fastHead, StringComparison.Ordinal);
        Assert.Matches("\r\nVia: (.*, )?1.1 web-1\r\n", fastHead);
    }

    [Theory]
    [InlineData("abort", "")]
    [InlineData("abort", "Accept: application/json\r\n")]
    [InlineData("abort", "Accept: text/html, application/json;q=0.5\r\n")]
    [InlineData("down", "")]
    [InlineData("down", "Accept: application/problem+json\r\n")]
    [InlineData("down", "Accept: text/plain\r\nAccept: application/json\r\n")]
    public async Task AppFailing_ErrorPagesSameAsKestrelsWayIn(string failure, string accept)
    {
        if (failure == "abort")
        {
            _app.Behavior = context =>
            {
                context.Abort();
                return Task.CompletedTask;
            };
        }

        await StartAsync(errorPages: true);
        if (failure == "down")
        {
            // Down by its checks: 503 on both ways in, none sent to it.
            _app.Ready = false;
            using var client = new HttpClient();
            Assert.True(await Eventually.TrueAsync(async () => (await client.GetStringAsync(new Uri(_address, "/readyz"))).Contains("0 of 1 app nodes healthy", StringComparison.Ordinal)));
        }

        var head = $"GET /page HTTP/1.1\r\nHost: x\r\n{accept}";
        var (fastHead, fastBody) = await ExchangeAsync(head + "\r\n", isHead: false);
        await ForwardedAsync(1);
        var (kestrelHead, kestrelBody) = await ExchangeAsync(head + ForceKestrel + "\r\n", isHead: false);

        Assert.Matches("^HTTP/1.1 50[234] ", fastHead);
        Assert.Equal(Lines(kestrelHead), Lines(fastHead));
        Assert.Equal(Encoding.UTF8.GetString(kestrelBody), Encoding.UTF8.GetString(fastBody));
        Assert.Contains(accept.Contains("json", StringComparison.Ordinal) && !accept.Contains("html", StringComparison.Ordinal) ? "application/problem+json" : "text/html", fastHead, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AccessLogAndMetrics_SameAsKestrelsWayIn()
    {
        _app.Behavior = Behavior("chunked");
        await StartAsync(accessLogFormat: "json");
        using var client = new HttpClient();
        var before = await RequestsCountAsync(client);
        const string Request = "GET /chunked?x=1 HTTP/1.1\r\nHost: x\r\nReferer: http://foobar.com/\r\nUser-Agent: probe/1.0\r\nX-Forwarded-For: 203.0.113.9\r\nConnection: close\r\n";
        await ExchangeAsync(Request + "\r\n", isHead: false);
        await ExchangeAsync(Request + ForceKestrel + "\r\n", isHead: false);
        await ExchangeAsync("HEAD /page HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", isHead: true);
        await ForwardedAsync(2);

        Assert.Equal(before + 3, await RequestsCountAsync(client));
        await WebTestNode.StopAsync(_web);
        _web = null;
        var lines = File.ReadAllLines(Path.Combine(_logs, "web-1.access.log")).Where(l => !l.Contains("/metrics", StringComparison.Ordinal) && !l.Contains("/readyz", StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, lines.Length);
        Assert.Equal(Fields(lines[1]), Fields(lines[0]));
        Assert.Contains("bytes=2048", Fields(lines[0]), StringComparison.Ordinal);
        Assert.Contains("upstream=app-1", Fields(lines[0]), StringComparison.Ordinal);
        using var head = JsonDocument.Parse(lines[2]);
        Assert.Equal("HEAD", head.RootElement.GetProperty("method").GetString());
        Assert.Equal(0, head.RootElement.GetProperty("bytes").GetInt64());

        static string Fields(string line)
        {
            using var json = JsonDocument.Parse(line);
            return string.Join("|", json.RootElement.EnumerateObject().Where(p => p.Name is not ("time" or "durationMs")).Select(p => $"{p.Name}={p.Value}"));
        }
    }

    [Fact]
    public async Task Pipelined_FilesAndForwarded_AnsweredInOrderOnTheConnectionPath()
    {
        _app.Behavior = Behavior("big");
        await StartAsync();
        await WebTestNode.WaitHealthyAsync(_address, 1);
        using var socket = await ConnectAsync();
        string[] requests =
        [
            "GET /static/100k.bin HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /big HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /static/1k.txt HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /api/items HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /static/100k.bin HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /big HTTP/1.1\r\nHost: x\r\n\r\n",
        ];
        await socket.SendAsync(Encoding.ASCII.GetBytes(string.Concat(requests)), SocketFlags.None);
        var reader = new AnswerReader(socket);
        var answers = new List<(string Head, byte[] Body)>();
        for (var i = 0; i < requests.Length; i++)
        {
            answers.Add(await reader.ReadAsync(isHead: false));
        }

        Assert.All(answers, a => Assert.StartsWith("HTTP/1.1 200 OK\r\n", a.Head, StringComparison.Ordinal));
        Assert.Equal(_large, answers[0].Body);
        Assert.Equal(BigBody, answers[1].Body);
        Assert.Equal(1024, answers[2].Body.Length);
        Assert.Equal(BigBody, answers[3].Body);
        Assert.Equal(_large, answers[4].Body);
        Assert.Equal(BigBody, answers[5].Body);
        // Every one on the connection path: none handed to Kestrel.
        await ForwardedAsync(3);
        Assert.Equal(3, Content.Served);
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/READYZ")]
    [InlineData("/metrics")]
    [InlineData("/stats")]
    [InlineData("/admin/servers")]
    public async Task ManagementPaths_HandedToKestrel(string path)
    {
        await StartAsync();
        var request = $"GET {path} HTTP/1.1\r\nHost: x\r\n";

        var (fast, _) = await ExchangeAsync(request + "\r\n", isHead: false);
        var (kestrel, _) = await ExchangeAsync(request + ForceKestrel + "\r\n", isHead: false);
        var (proxied, _) = await ExchangeAsync(request + "Via: 1.1 lb-1\r\n\r\n", isHead: false);

        Assert.Equal(kestrel[..12], fast[..12]);
        Assert.StartsWith("HTTP/1.1 404 ", proxied, StringComparison.Ordinal);
        Assert.Equal(0, _app.Requests);
        Assert.Equal(0, Content.ForwardedCount);
    }

    [Fact]
    public async Task ClientThatStopsReading_DisconnectedAfterTheClientTimeout()
    {
        _app.Behavior = Behavior("big");
        await StartAsync(clientTimeout: TimeSpan.FromSeconds(2));
        await WebTestNode.WaitHealthyAsync(_address, 1);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await socket.ConnectAsync(_address.Host, _address.Port);
        // 200 × 256 KiB forwarded, nothing read: the kernel's buffers fill within the first answers.
        await socket.SendAsync(Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("GET /big HTTP/1.1\r\nHost: x\r\n\r\n", 200))), SocketFlags.None);
        await Task.Delay(TimeSpan.FromSeconds(6));

        long received = 0;
        var buffer = new byte[1 << 16];
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, limit.Token)) > 0)
            {
                received += read;
            }
        }
        catch (SocketException)
        {
            // Reset: aborted by the server.
        }

        Assert.False(limit.IsCancellationRequested, "the connection stayed open");
        Assert.True(received < 200L * BigBody.Length, $"{received} bytes: everything was sent");
        Assert.True(Content.ForwardedCount >= 1, "not forwarded on the connection path");
    }

    private static readonly byte[] BigBody = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("0123456789abcdef", 16 * 1024)));

    private static Func<HttpContext, Task>? Behavior(string name) => name switch
    {
        "chunked" => async context =>
        {
            context.Response.ContentType = "text/plain";
            await context.Response.WriteAsync(new string('c', 1024));
            await context.Response.Body.FlushAsync();
            await context.Response.WriteAsync(new string('d', 1024));
        },
        "own" => context =>
        {
            // Its own security header and Via, no Server.
            context.Response.Headers["X-Frame-Options"] = "SAMEORIGIN";
            context.Response.Headers.Via = "1.0 cache";
            context.Response.Headers.Server = "";
            context.Response.Headers.Remove("Server");
            context.Response.ContentLength = 2;
            return context.Response.WriteAsync("ok");
        },
        "big" => context =>
        {
            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = BigBody.Length;
            return context.Response.Body.WriteAsync(BigBody).AsTask();
        },
        "204" => context =>
        {
            context.Response.StatusCode = 204;
            return Task.CompletedTask;
        },
        _ => null,
    };

    private ConnectionStaticFiles Content => (ConnectionStaticFiles)_web!.Services.GetRequiredService<IConnectionContent>();

    private async Task StartAsync(string accessLogFormat = "combined", TimeSpan? clientTimeout = null, bool errorPages = false)
    {
        var node = TestTopology.Node("web-1", NodeRole.Web);
        var web = WebSpec.Default with { AccessLogPath = Path.Combine(_logs, "{node}.access.log"), AccessLogFormat = accessLogFormat };
        if (errorPages)
        {
            web = web with { ErrorPages = web.ErrorPages.SetItem("50x", "/50x.html") };
        }

        var topology = TestTopology.Create(
            webNodes: [node],
            appNodes: [TestTopology.Node(_app.Name, NodeRole.App, _app.Url)],
            webRoot: _root,
            // One attempt, never taken out by failed requests: a failing app gives each request the same answer.
            appBackend: TestTopology.FastBackend with { ClientTimeout = clientTimeout ?? TimeSpan.FromSeconds(30), Retries = 0, PassiveFailures = 0 }) with
        {
            Web = web,
        };
        _web = Strata.Web.WebNode.Build(topology, node);
        await _web.StartAsync();
        _address = new Uri(_web.Urls.First());
        await WebTestNode.WaitHealthyAsync(_address, 1);
    }

    /// <summary>Waits for the count: it is taken once the answer is sent, which the client may read first.</summary>
    private async Task ForwardedAsync(long expected)
    {
        await Eventually.TrueAsync(() => Task.FromResult(Content.ForwardedCount >= expected));
        Assert.Equal(expected, Content.ForwardedCount);
    }

    private async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(_address.Host, _address.Port);
        return socket;
    }

    private async Task<(string Head, byte[] Body)> ExchangeAsync(string request, bool isHead)
    {
        using var socket = await ConnectAsync();
        await socket.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None);
        return await new AnswerReader(socket).ReadAsync(isHead);
    }

    private async Task<long> RequestsCountAsync(HttpClient client)
    {
        var metrics = await client.GetStringAsync(new Uri(_address, "/metrics"));
        var line = metrics.Split('\n').First(l => l.StartsWith("strata_http_requests_total{", StringComparison.Ordinal) && l.Contains("code=\"2xx\"", StringComparison.Ordinal));
        return (long)double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The status line, then the header lines but Date in order of name (Kestrel writes its known headers in its own order).</summary>
    private static string Lines(string head)
    {
        var lines = head.Split("\r\n");
        return lines[0] + "\n" + string.Join("\n", lines.Skip(1).Where(l => !l.StartsWith("Date: ", StringComparison.Ordinal)).Order(StringComparer.OrdinalIgnoreCase));
    }
}
