using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Strata.Cluster.Election;
using Strata.LoadBalancer;
using Strata.Proxy.Upstreams;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.Proxy.Forwarding;

/// <summary>
/// Requests without a body take the load balancer's own HTTP/1.1 path (Http1Forwarder), here through Kestrel's HTTP
/// layer on the node's own address (<see cref="ConnectionForwardingTests"/> runs the same tests through the VIP, where
/// the connection path serves them). A scripted server on a real socket answers with exact bytes, so that each
/// framing a server may use — and each malformed answer — is seen through a real load balancer node by a real client.
/// </summary>
public class Http1ForwardingTests : IAsyncLifetime
{
    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false, UseCookies = false }) { Timeout = TimeSpan.FromSeconds(15) };
    private WebApplication? _lb;
    private Uri _address = null!;

    protected ScriptedUpstream Web { get; } = new();

    /// <summary>Where the tests send their requests: the node's address, or the VIP.</summary>
    protected Uri Address => _address;

    protected UpstreamPool Pool => _lb!.Services.GetRequiredService<UpstreamPool>();

    protected Upstream Web1 => Pool.Find("web-1")!;

    /// <summary>Whether requests go to the VIP (the connection path) instead of the node's own address.</summary>
    protected virtual bool ThroughVip => false;

    /// <summary>The client timeout of the load balancer (its default unless a subclass needs a short one).</summary>
    protected virtual TimeSpan ClientTimeout => new BackendSpec().ClientTimeout;

    public async Task InitializeAsync()
    {
        var lb = TestTopology.Node("lb-1", NodeRole.LoadBalancer);
        var topology = TestTopology.Create(
            loadBalancers: [lb],
            webNodes: [TestTopology.Node("web-1", NodeRole.Web, Web.EndPoint)],
            webBackend: new BackendSpec { HealthCheck = TestTopology.SlowChecks, PassiveFailures = 0, ServerTimeout = TimeSpan.FromSeconds(5), ClientTimeout = ClientTimeout });
        _lb = LoadBalancerNode.Build(topology, lb);
        await _lb.StartAsync();
        Assert.True(await Eventually.TrueAsync(() => Task.FromResult(Web1.IsUp)), "the scripted server never came up");
        if (ThroughVip)
        {
            _address = new Uri($"http://{topology.Vip}/");
            Assert.True(await Eventually.TrueAsync(() => Task.FromResult(_lb.Services.GetRequiredService<VipStatus>().HoldsVip)), "the load balancer never took the VIP");
        }
        else
        {
            _address = new Uri(_lb.Urls.First());
        }
    }

    public async Task DisposeAsync()
    {
        if (_lb is not null)
        {
            await _lb.StopAsync();
            await _lb.DisposeAsync();
        }

        Web.Dispose();
        _client.Dispose();
    }

    [Fact]
    public async Task Chunked_RelayedAsItsData_TrailersDropped()
    {
        // Large enough to be relayed in many reads and flushes, on a kept-alive client connection.
        var data = string.Concat(Enumerable.Range(0, 60_000).Select(i => $"{i},"));
        var chunks = new StringBuilder();
        for (var i = 0; i < data.Length; i += 700)
        {
            var piece = data.Substring(i, Math.Min(700, data.Length - i));
            chunks.Append($"{piece.Length:x};ext=1\r\n{piece}\r\n");
        }

        Web.Answer = _ => Response("200 OK", "Content-Type: text/csv\r\nTransfer-Encoding: chunked", chunks + "0\r\nX-Trailer: t\r\n\r\n");

        for (var i = 0; i < 2; i++)
        {
            using var response = await _client.GetAsync(new Uri(Address, "/numbers"));

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(data, await response.Content.ReadAsStringAsync());
            Assert.Equal("text/csv", response.Content.Headers.ContentType!.MediaType);
            Assert.False(response.TrailingHeaders.Contains("X-Trailer"));
        }
    }

    [Fact]
    public async Task Head_LengthKeptWithoutBody_ConnectionKeptForTheNextRequest()
    {
        Web.Answer = head => head.StartsWith("HEAD")
            ? Response("200 OK", "Content-Length: 1234", "")
            : Response("200 OK", "Content-Length: 2", "ok");

        using var head = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri(Address, "/file")));
        using var get = await _client.GetAsync(new Uri(Address, "/file"));

        Assert.Equal(1234, head.Content.Headers.ContentLength);
        Assert.Equal("ok", await get.Content.ReadAsStringAsync());
        Assert.Equal(1, Web.Connections);
    }

    [Fact]
    public async Task NotModified_RelayedWithoutBody()
    {
        Web.Answer = _ => Response("304 Not Modified", "ETag: \"v1\"", "");

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(Address, "/file"));
        request.Headers.TryAddWithoutValidation("If-None-Match", "\"v1\"");
        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
        Assert.Equal("\"v1\"", response.Headers.ETag!.Tag);
        Assert.Contains("If-None-Match: \"v1\"", Web.Heads.Last());
    }

    [Fact]
    public async Task EarlyHints_NotRelayed_FinalAnswerIs()
    {
        Web.Answer = _ => Encoding.ASCII.GetBytes("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
            .Concat(Response("200 OK", "Content-Length: 5", "final")).ToArray();

        using var response = await _client.GetAsync(new Uri(Address, "/"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("final", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("Content-Length: 5\r\nTransfer-Encoding: chunked")]
    [InlineData("Content-Length: 5\r\nContent-Length: 6")]
    [InlineData("Content-Length: 5\r\nX-Folded: a\r\n b")]
    [InlineData("Content-Length: 5\r\nX-Space : a")]
    [InlineData("Content-Length: 5\r\nTransfer-Encoding: gzip")]
    public async Task AmbiguousAnswer_502_NothingOfItRelayed(string headers)
    {
        Web.Answer = _ => Response("200 OK", headers + "\r\nX-Leak: yes", "0\r\n\r\n");

        using var response = await _client.GetAsync(new Uri(Address, "/"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.False(response.Headers.Contains("X-Leak"));
        Assert.Equal(1, Web1.TotalFailures);
    }

    [Fact]
    public async Task BodyUntilClose_RelayedWhole_ConnectionNotReused()
    {
        var body = new string('x', 200_000);
        Web.Answer = _ => Response("200 OK", "Content-Type: text/plain", body);
        Web.CloseAfterAnswer = true;

        using var first = await _client.GetAsync(new Uri(Address, "/a"));
        using var second = await _client.GetAsync(new Uri(Address, "/b"));

        Assert.Equal(body, await first.Content.ReadAsStringAsync());
        Assert.Equal(body, await second.Content.ReadAsStringAsync());
        Assert.Equal(2, Web.Connections);
    }

    [Fact]
    public async Task KeptAliveConnectionClosedByTheServer_SentAgainOnANewOne_NoFailureCounted()
    {
        // The server closes every connection right after its answer without saying so (no Connection: close):
        // the next request finds the kept-alive connection closed, and is sent again.
        Web.Answer = _ => Response("200 OK", "Content-Length: 2", "ok");
        Web.CloseAfterAnswer = true;
        Web.CloseQuietly = true;

        for (var i = 0; i < 5; i++)
        {
            using var response = await _client.GetAsync(new Uri(Address, $"/{i}"));
            Assert.Equal("ok", await response.Content.ReadAsStringAsync());
        }

        Assert.Equal(0, Web1.TotalFailures);
        Assert.Equal(5, Web.Heads.Count);
    }

    [Fact]
    public async Task BodyCutShort_ClientSeesABrokenResponse_FailureCounted()
    {
        Web.Answer = _ => Response("200 OK", "Content-Length: 100000", new string('x', 1000));
        Web.CloseAfterAnswer = true;

        var failed = false;
        try
        {
            using var response = await _client.GetAsync(new Uri(Address, "/"));
            await response.Content.ReadAsByteArrayAsync();
        }
        catch (HttpRequestException)
        {
            failed = true;
        }

        Assert.True(failed, "the client read a whole response from a cut body");

        // The client's connection is broken first, then the attempt's failure is counted: the client may see it first.
        Assert.True(await Eventually.TrueAsync(() => Task.FromResult(Web1.TotalFailures == 1)), $"{Web1.TotalFailures} failures counted");
    }

    [Fact]
    public async Task Request_TargetAsSent_HopByHopLeftOut_ViaAndForwardedForAdded()
    {
        Web.Answer = _ => Response("200 OK", "Content-Length: 2", "ok");
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(Address, "/a%2Fb/c%20d?x=%20y&z=%2B"));
        request.Headers.TryAddWithoutValidation("Keep-Alive", "timeout=5");
        request.Headers.TryAddWithoutValidation("TE", "trailers");
        request.Headers.TryAddWithoutValidation("Proxy-Connection", "keep-alive");
        request.Headers.TryAddWithoutValidation("X-Custom", "kept");
        request.Headers.TryAddWithoutValidation("Via", "1.1 client-proxy");

        using var response = await _client.SendAsync(request);

        var head = Web.Heads.Last();
        Assert.StartsWith("GET /a%2Fb/c%20d?x=%20y&z=%2B HTTP/1.1\r\n", head);
        Assert.Contains($"Host: {Address.Authority}\r\n", head);
        Assert.Contains("X-Custom: kept\r\n", head);
        Assert.Contains("Via: 1.1 client-proxy, 1.1 lb-1\r\n", head);
        Assert.Contains("X-Forwarded-For: 127.0.0.1\r\n", head);
        Assert.DoesNotContain("Keep-Alive", head, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("TE:", head, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Proxy-Connection", head, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Response_RepeatedHeadersKept_HopByHopLeftOut_ViaAdded()
    {
        Web.Answer = _ => Response(
            "201 Created",
            "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nKeep-Alive: timeout=5\r\nConnection: keep-alive, X-Private\r\nX-Private: secret\r\nContent-Length: 2",
            "ok");

        using var response = await _client.GetAsync(new Uri(Address, "/"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(["a=1", "b=2"], response.Headers.GetValues("Set-Cookie"));
        Assert.False(response.Headers.Contains("Keep-Alive"));
        Assert.False(response.Headers.Contains("X-Private"));
        Assert.Equal("1.1 lb-1", string.Join(",", response.Headers.GetValues("Via")));
    }

    [Fact]
    public async Task LargeBodies_RelayedByteForByte()
    {
        var body = new byte[3 * 1024 * 1024 + 17];
        new Random(7).NextBytes(body);
        Web.Answer = _ => Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\n\r\n").Concat(body).ToArray();

        for (var i = 0; i < 3; i++)
        {
            using var response = await _client.GetAsync(new Uri(Address, "/big"));
            Assert.Equal(body, await response.Content.ReadAsByteArrayAsync());
        }

        Assert.Equal(1, Web.Connections);
    }

    [Fact]
    public async Task BodyInPartsOverLongerThanTheServerTimeout_RelayedWhole_NoFailureCounted()
    {
        // Four parts 2 s apart (the head whole in the first): 6 s in all, more than the 5 s server timeout, which counts
        // the server's silence, not the whole body.
        var body = new string('a', 400);
        Web.Answer = _ => Response("200 OK", $"Content-Length: {body.Length}", body);
        Web.Pause = TimeSpan.FromSeconds(2);

        using var response = await _client.GetAsync(new Uri(Address, "/slow"));

        Assert.Equal(body, await response.Content.ReadAsStringAsync());
        Assert.Equal(0, Web1.TotalFailures);
    }

    protected static byte[] Response(string status, string headers, string body) =>
        Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\n{headers}\r\n\r\n{body}");

    /// <summary>
    /// A server on a real socket that answers each request (read up to its blank line; no bodies) with the bytes
    /// <see cref="Answer"/> gives, and /readyz with 200.
    /// </summary>
    protected sealed class ScriptedUpstream : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private int _connections;

        public ScriptedUpstream()
        {
            _listener.Start();
            _ = AcceptAsync();
        }

        public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

        public Func<string, byte[]> Answer { get; set; } = _ => Response("200 OK", "Content-Length: 0", "");

        /// <summary>When set, each answer goes in four parts with this pause between them.</summary>
        public TimeSpan Pause { get; set; }

        /// <summary>Close the connection after each answer (the health check's too).</summary>
        public bool CloseAfterAnswer { get; set; }

        /// <summary>With <see cref="CloseAfterAnswer"/>, a moment after the answer, so that the proxy keeps the connection.</summary>
        public bool CloseQuietly { get; set; }

        /// <summary>Connections that carried a request other than /readyz.</summary>
        public int Connections => Volatile.Read(ref _connections);

        public ConcurrentQueue<string> Heads { get; } = new();

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
        }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    _ = ServeAsync(await _listener.AcceptSocketAsync(_stop.Token));
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }
            }
        }

        private async Task ServeAsync(Socket socket)
        {
            using var _ = socket;
            var buffer = new byte[64 * 1024];
            var length = 0;
            var counted = false;
            try
            {
                while (true)
                {
                    int end;
                    while ((end = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8)) < 0)
                    {
                        var read = await socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, _stop.Token);
                        if (read == 0)
                        {
                            return;
                        }

                        length += read;
                    }

                    var head = Encoding.ASCII.GetString(buffer, 0, end + 4);
                    buffer.AsSpan(end + 4, length - end - 4).CopyTo(buffer);
                    length -= end + 4;
                    byte[] answer;
                    if (head.StartsWith("GET /readyz "))
                    {
                        answer = Response("200 OK", "Content-Length: 0", "");
                    }
                    else
                    {
                        if (!counted)
                        {
                            counted = true;
                            Interlocked.Increment(ref _connections);
                        }

                        Heads.Enqueue(head);
                        answer = Answer(head);
                    }

                    for (var sent = 0; sent < answer.Length;)
                    {
                        var part = Pause > TimeSpan.Zero && !head.StartsWith("GET /readyz ") ? (answer.Length + 3) / 4 : answer.Length;
                        if (sent > 0 && part < answer.Length)
                        {
                            await Task.Delay(Pause, _stop.Token);
                        }

                        sent += await socket.SendAsync(answer.AsMemory(sent, Math.Min(part, answer.Length - sent)), SocketFlags.None, _stop.Token);
                    }

                    if (CloseAfterAnswer)
                    {
                        if (CloseQuietly)
                        {
                            await Task.Delay(50, _stop.Token);
                        }

                        socket.Shutdown(SocketShutdown.Both);
                        return;
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }
    }
}
