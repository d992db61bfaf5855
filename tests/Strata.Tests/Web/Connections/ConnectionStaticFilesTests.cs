using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Strata.Proxy.Clients.Connections;
using Strata.Tests.Common;
using Strata.Topology;
using Strata.Web.Static;

namespace Strata.Tests.Web.Connections;

/// <summary>
/// The web node's files on the connection path (ConnectionStaticFiles): the same bytes as Kestrel's way in, logged and
/// counted the same, sendfile for large files, and everything unusual handed to Kestrel in order on the same connection.
/// A request with "Content-Length: 0" is one the connection path never takes, so it shows what Kestrel's way in answers.
/// </summary>
public sealed class ConnectionStaticFilesTests : IAsyncLifetime
{
    private const string ForceKestrel = "Content-Length: 0\r\n";

    private readonly string _root = Directory.CreateTempSubdirectory("strata-connpath-").FullName;
    private readonly string _logs = Directory.CreateTempSubdirectory("strata-connpath-logs-").FullName;
    private FakeUpstream _app = null!;
    private WebApplication? _web;
    private Uri _address = null!;
    private byte[] _large = null!;
    private byte[] _huge = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(_root, "static", "dir"));
        File.WriteAllText(Path.Combine(_root, "static", "1k.txt"), new string('a', 1024));
        File.WriteAllBytes(Path.Combine(_root, "static", "logo.png"), RandomNumberGenerator.GetBytes(300));
        _large = RandomNumberGenerator.GetBytes(100 * 1024);
        File.WriteAllBytes(Path.Combine(_root, "static", "100k.bin"), _large);
        _huge = RandomNumberGenerator.GetBytes(5 * 1024 * 1024);
        File.WriteAllBytes(Path.Combine(_root, "static", "5m.bin"), _huge);
        File.WriteAllText(Path.Combine(_root, "static", "dir", "index.html"), "<p>index</p>");
        File.WriteAllBytes(Path.Combine(_root, "static", "empty.bin"), []);
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
    [InlineData("GET", "/static/1k.txt", "")]
    [InlineData("HEAD", "/static/1k.txt", "")]
    [InlineData("GET", "/static/logo.png", "Connection: close\r\n")]
    [InlineData("GET", "/static/100k.bin", "")]
    [InlineData("HEAD", "/static/5m.bin", "")]
    [InlineData("GET", "/static/5m.bin", "")]
    [InlineData("GET", "/static/1k.txt?v=2", "Connection: close\r\n")]
    [InlineData("GET", "/static/empty.bin", "")]
    public async Task Answer_SameAsKestrelsWayIn_HeaderByHeaderButDate(string method, string target, string extra)
    {
        await StartAsync();
        var head = $"{method} {target} HTTP/1.1\r\nHost: www.foobar.com\r\n{extra}";

        var (fastHead, fastBody) = await ExchangeAsync(head + "\r\n", method == "HEAD");
        await ServedAsync(1);
        var (kestrelHead, kestrelBody) = await ExchangeAsync(head + ForceKestrel + "\r\n", method == "HEAD");
        await ServedAsync(1);

        Assert.Equal(WithoutDate(kestrelHead), WithoutDate(fastHead));
        Assert.Contains("\r\nDate: ", fastHead, StringComparison.Ordinal);
        Assert.Equal(kestrelBody, fastBody);
        Assert.Contains("X-Served-By: web-1\r\n", fastHead, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/static/100k.bin")]
    [InlineData("/static/5m.bin")]
    public async Task LargeFile_BySendfile_ArrivesIntact(string path)
    {
        await StartAsync();
        var expected = path.Contains("5m") ? _huge : _large;

        // Three on one connection: the descriptor is reused, each answer whole and in order.
        using var socket = await ConnectAsync();
        await socket.SendAsync(Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat($"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n", 3))), SocketFlags.None);
        var reader = new AnswerReader(socket);
        for (var i = 0; i < 3; i++)
        {
            var (head, body) = await reader.ReadAsync(isHead: false);
            Assert.StartsWith("HTTP/1.1 200 OK\r\n", head, StringComparison.Ordinal);
            Assert.Equal(SHA256.HashData(expected), SHA256.HashData(body));
        }

        await ServedAsync(3);
        Assert.Equal(1, _web!.Services.GetRequiredService<HotFileCache>().OpenFiles.Count);
    }

    [Fact]
    public async Task Pipelined_StaticHandOversAndForwarded_AnsweredInOrder()
    {
        await StartAsync();
        await WebTestNode.WaitHealthyAsync(_address, 1);
        using var socket = await ConnectAsync();
        string[] requests =
        [
            "GET /static/1k.txt HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /static/100k.bin HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /static/1k.txt HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"nothing\"\r\n\r\n",
            "GET /api/items HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /static/5m.bin HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /static/logo.png HTTP/1.1\r\nHost: x\r\n\r\n",
        ];
        await socket.SendAsync(Encoding.ASCII.GetBytes(string.Concat(requests)), SocketFlags.None);
        var reader = new AnswerReader(socket);

        var answers = new List<(string Head, byte[] Body)>();
        for (var i = 0; i < requests.Length; i++)
        {
            answers.Add(await reader.ReadAsync(isHead: false));
        }

        Assert.All(answers, a => Assert.StartsWith("HTTP/1.1 200 OK\r\n", a.Head, StringComparison.Ordinal));
        Assert.Equal(1024, answers[0].Body.Length);
        Assert.Equal(_large, answers[1].Body);
        Assert.Equal(1024, answers[2].Body.Length);
        Assert.Equal("app-1 /api/items", Encoding.ASCII.GetString(answers[3].Body));
        Assert.Equal(SHA256.HashData(_huge), SHA256.HashData(answers[4].Body));
        Assert.Equal(300, answers[5].Body.Length);
        // The first two here, the rest by Kestrel from the conditional request on.
        await ServedAsync(2);
    }

    [Fact]
    public async Task ManyInARow_OneAfterAnotherAndPipelined_EachAnsweredInOrderOnTheConnectionPath()
    {
        // A connection answered several times in a row lets the others go first (ClientConnection yields to the
        // thread pool): its later answers come from there, in order, still on the connection path.
        await StartAsync();
        using var socket = await ConnectAsync();
        var reader = new AnswerReader(socket);
        string[] paths = ["/static/1k.txt", "/static/logo.png", "/static/100k.bin"];
        for (var i = 0; i < 12; i++)
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {paths[i % 3]} HTTP/1.1\r\nHost: x\r\n\r\n"), SocketFlags.None);
            var (head, body) = await reader.ReadAsync(isHead: false);
            Assert.StartsWith("HTTP/1.1 200 OK\r\n", head, StringComparison.Ordinal);
            Assert.Equal(i % 3 == 0 ? 1024 : i % 3 == 1 ? 300 : _large.Length, body.Length);
        }

        await socket.SendAsync(Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 12).Select(i => $"GET {paths[i % 3]} HTTP/1.1\r\nHost: x\r\n\r\n"))), SocketFlags.None);
        for (var i = 0; i < 12; i++)
        {
            var (head, body) = await reader.ReadAsync(isHead: false);
            Assert.StartsWith("HTTP/1.1 200 OK\r\n", head, StringComparison.Ordinal);
            Assert.Equal(i % 3 == 0 ? 1024 : i % 3 == 1 ? 300 : _large.Length, body.Length);
        }

        await ServedAsync(24);
    }

    [Theory]
    [InlineData("GET /static/1k.txt HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\n\r\n", 304, "")]
    [InlineData("GET /static/1k.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\n\r\n", 206, "Content-Range: bytes 0-9/1024")]
    [InlineData("GET /static/1k.txt HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n", 200, "Content-Encoding: gzip")]
    [InlineData("GET /static/missing.txt HTTP/1.1\r\nHost: x\r\n\r\n", 404, "")]
    [InlineData("GET /static/dir HTTP/1.1\r\nHost: x\r\n\r\n", 301, "Location: /static/dir/")]
    [InlineData("GET /static/dir/ HTTP/1.1\r\nHost: x\r\n\r\n", 200, "<p>index</p>")]
    [InlineData("POST /static/1k.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405, "")]
    [InlineData("GET /static/%31k.txt HTTP/1.1\r\nHost: x\r\n\r\n", 200, "aaaa")]
    [InlineData("GET /static//1k.txt HTTP/1.1\r\nHost: x\r\n\r\n", 400, "")]
    public async Task AfterAFastAnswer_UnusualRequest_KestrelAnswersAsBefore(string request, int status, string expected)
    {
        await StartAsync();
        var (first, _) = await ExchangeAsync("GET /static/1k.txt HTTP/1.1\r\nHost: x\r\n\r\n", isHead: false);
        var etag = Header(first, "ETag");
        using var socket = await ConnectAsync();
        await socket.SendAsync(Encoding.ASCII.GetBytes("GET /static/logo.png HTTP/1.1\r\nHost: x\r\n\r\n" + request.Replace("{etag}", etag, StringComparison.Ordinal)), SocketFlags.None);
        var reader = new AnswerReader(socket);

        var (logoHead, logo) = await reader.ReadAsync(isHead: false);
        var (head, body) = await reader.ReadAsync(isHead: false);

        Assert.StartsWith("HTTP/1.1 200 OK", logoHead, StringComparison.Ordinal);
        Assert.Equal(300, logo.Length);
        Assert.StartsWith($"HTTP/1.1 {status} ", head, StringComparison.Ordinal);
        Assert.Contains(expected, head + Encoding.ASCII.GetString(body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NodeWithRoutes_FilesLeftToKestrelWhichRoutesFirst()
    {
        // A route's rule answers /static/1k.txt itself: the connection path must not serve the file ahead of it.
        await StartAsync(routes: [new RouteSpec("fixed", new RouteMatchSpec([], ["/static/1k.txt"], [], []), "app", [new ReturnRule(204, "", "text/plain")], [])]);

        var (head, _) = await ExchangeAsync("GET /static/1k.txt HTTP/1.1\r\nHost: x\r\n\r\n", isHead: false);
        var (logo, body) = await ExchangeAsync("GET /static/logo.png HTTP/1.1\r\nHost: x\r\n\r\n", isHead: false);

        Assert.StartsWith("HTTP/1.1 204 ", head, StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 200 ", logo, StringComparison.Ordinal);
        Assert.Equal(300, body.Length);
        Assert.Equal(0, Served);
    }

    [Fact]
    public async Task AccessLogAndMetrics_SameAsKestrelsWayIn()
    {
        await StartAsync(accessLogFormat: "json");
        using var client = new HttpClient();
        var before = await RequestsCountAsync(client);
        const string Request = "GET /static/1k.txt?x=1 HTTP/1.1\r\nHost: x\r\nReferer: http://foobar.com/\r\nUser-Agent: probe/1.0\r\nX-Forwarded-For: 203.0.113.9\r\nConnection: close\r\n";
        await ExchangeAsync(Request + "\r\n", isHead: false);
        await ExchangeAsync(Request + ForceKestrel + "\r\n", isHead: false);
        await ExchangeAsync("HEAD /static/100k.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", isHead: true);
        await ServedAsync(2);

        Assert.Equal(before + 3, await RequestsCountAsync(client));
        await WebTestNode.StopAsync(_web);
        _web = null;
        var lines = File.ReadAllLines(Path.Combine(_logs, "web-1.access.log")).Where(l => l.Contains("/static/", StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, lines.Length);
        Assert.Equal(Fields(lines[1]), Fields(lines[0]));
        using var head = JsonDocument.Parse(lines[2]);
        Assert.Equal("HEAD", head.RootElement.GetProperty("method").GetString());
        Assert.Equal(0, head.RootElement.GetProperty("bytes").GetInt64());
        Assert.Equal(200, head.RootElement.GetProperty("status").GetInt32());

        static string Fields(string line)
        {
            using var json = JsonDocument.Parse(line);
            return string.Join("|", json.RootElement.EnumerateObject().Where(p => p.Name is not ("time" or "durationMs")).Select(p => $"{p.Name}={p.Value}"));
        }
    }

    [Fact]
    public async Task ClientThatStopsReading_DisconnectedAfterTheClientTimeout()
    {
        await StartAsync(clientTimeout: TimeSpan.FromSeconds(2));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await socket.ConnectAsync(_address.Host, _address.Port);
        // 20 × 5 MiB asked, nothing read: the kernel's buffers fill within the first answer.
        await socket.SendAsync(Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("GET /static/5m.bin HTTP/1.1\r\nHost: x\r\n\r\n", 20))), SocketFlags.None);
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
        Assert.True(received < 20L * _huge.Length, $"{received} bytes: everything was sent");
    }

    [Fact]
    public void OpenFiles_ManyLargeFiles_DescriptorsBounded()
    {
        var folder = Path.Combine(_root, "many");
        Directory.CreateDirectory(folder);
        for (var i = 0; i < 20; i++)
        {
            File.WriteAllBytes(Path.Combine(folder, $"f{i}.bin"), new byte[64 * 1024]);
        }

        using var files = new HotFileCache(_root, WebSpec.Default, TimeProvider.System, watch: false, maxOpenFiles: 5);
        for (var round = 0; round < 2; round++)
        {
            for (var i = 0; i < 20; i++)
            {
                var (kind, file) = files.Find($"/many/f{i}.bin");
                Assert.Equal(LookupKind.File, kind);
                var open = files.OpenFiles.Acquire(file!.Identity);
                Assert.NotNull(open);
                open.Release();
                Assert.True(files.OpenFiles.Count <= 5, $"{files.OpenFiles.Count} kept open");
                Assert.True(OpenDescriptorsUnder(folder) <= 5, $"{OpenDescriptorsUnder(folder)} descriptors open");
            }
        }

        files.Dispose();
        Assert.Equal(0, OpenDescriptorsUnder(folder));
    }

    private static int OpenDescriptorsUnder(string folder)
    {
        var count = 0;
        foreach (var fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith(folder, StringComparison.Ordinal))
                {
                    count++;
                }
            }
            catch (IOException)
            {
                // Closed while listed.
            }
        }

        return count;
    }

    private async Task StartAsync(string accessLogFormat = "combined", TimeSpan? clientTimeout = null, RouteSpec[]? routes = null)
    {
        var node = TestTopology.Node("web-1", NodeRole.Web);
        var web = WebSpec.Default with { AccessLogPath = Path.Combine(_logs, "{node}.access.log"), AccessLogFormat = accessLogFormat };
        var topology = TestTopology.Create(
            webNodes: [node],
            appNodes: [TestTopology.Node(_app.Name, NodeRole.App, _app.Url)],
            webRoot: _root,
            appBackend: TestTopology.FastBackend with { ClientTimeout = clientTimeout ?? TimeSpan.FromSeconds(30) }) with
        {
            Web = web,
            WebRoutes = [.. routes ?? []],
        };
        _web = Strata.Web.WebNode.Build(topology, node);
        await _web.StartAsync();
        _address = new Uri(_web.Urls.First());
    }

    /// <summary>Waits for the count: it is taken once the kernel has the answer, which the client may read first.</summary>
    private async Task ServedAsync(long expected)
    {
        await Eventually.TrueAsync(() => Task.FromResult(Served >= expected));
        Assert.Equal(expected, Served);
    }

    private long Served => ((ConnectionStaticFiles)_web!.Services.GetRequiredService<IConnectionContent>()).Served;

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

    private static string WithoutDate(string head) =>
        string.Join("\r\n", head.Split("\r\n").Where(l => !l.StartsWith("Date: ", StringComparison.Ordinal)));

    private static string Header(string head, string name) =>
        head.Split("\r\n").First(l => l.StartsWith(name + ": ", StringComparison.Ordinal))[(name.Length + 2)..];
}
