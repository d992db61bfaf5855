using System.Net;
using System.Net.Sockets;
using System.Text;
using Strata.Tests.Common;
using Strata.Tests.Proxy.Forwarding;

namespace Strata.Tests.Proxy.Clients;

/// <summary>
/// The load balancer's VIP serves plain requests below Kestrel's HTTP layer (ConnectionForwarder) and hands a
/// connection to Kestrel at its first other request. Every test of <see cref="Http1ForwardingTests"/> runs here
/// again through the VIP; the tests below are what only this path does: pipelining, Connection: close, the hand-over
/// (Kestrel answers with its Server header, the connection path never adds one), the client timeout and its own
/// error answers. Raw sockets, so that the bytes on the wire are what is checked.
/// </summary>
public sealed class ConnectionForwardingTests : Http1ForwardingTests
{
    protected override bool ThroughVip => true;

    protected override TimeSpan ClientTimeout => TimeSpan.FromSeconds(2);

    [Fact]
    public async Task Pipelined_AnsweredInOrder_OnOneConnection()
    {
        Web.Answer = head => head.Split(' ')[1][1..] is var name ? Response("200 OK", $"Content-Length: {name.Length}", name) : [];
        using var client = await ConnectAsync();

        await SendAsync(client, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
        var first = await ReadResponseAsync(client);
        var second = await ReadResponseAsync(client);

        Assert.StartsWith("HTTP/1.1 200 OK\r\n", first.Head);
        Assert.Equal("a", first.Body);
        Assert.Equal("b", second.Body);
        Assert.DoesNotContain("Server:", first.Head);
        Assert.Equal(1, Web.Connections);
    }

    [Fact]
    public async Task ClientAsksToClose_AnsweredWithConnectionClose_ThenClosed()
    {
        Web.Answer = _ => Response("200 OK", "Content-Length: 2", "ok");
        using var client = await ConnectAsync();

        await SendAsync(client, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        var response = await ReadResponseAsync(client);

        Assert.Contains("\r\nConnection: close\r\n", response.Head);
        Assert.Equal("ok", response.Body);
        Assert.Equal(0, await client.ReceiveAsync(new byte[16], SocketFlags.None));
    }

    [Fact]
    public async Task Http10AfterAPlainRequest_HandedToKestrel_BothAnswered()
    {
        Web.Answer = _ => Response("200 OK", "Content-Length: 2", "ok");
        using var client = await ConnectAsync();

        // The second request is already buffered when the connection is handed over: Kestrel must still read it.
        await SendAsync(client, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.0\r\nHost: x\r\n\r\n");
        var plain = await ReadResponseAsync(client);
        var handedOver = await ReadResponseAsync(client);

        Assert.DoesNotContain("Server:", plain.Head);
        Assert.Contains("\r\nServer: Kestrel\r\n", handedOver.Head);
        Assert.Equal("ok", handedOver.Body);
        Assert.Equal(["/1", "/2"], Web.Heads.Select(h => h.Split(' ')[1]));
    }

    [Fact]
    public async Task BothContentLengthAndTransferEncoding_StillRefusedWith400()
    {
        using var client = await ConnectAsync();

        await SendAsync(client, "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
        var response = await ReadResponseAsync(client);

        Assert.StartsWith("HTTP/1.1 400 ", response.Head);
        Assert.Empty(Web.Heads);
    }

    [Fact]
    public async Task IdleClient_ClosedAfterTheClientTimeout()
    {
        Web.Answer = _ => Response("200 OK", "Content-Length: 2", "ok");
        using var client = await ConnectAsync();
        await SendAsync(client, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        await ReadResponseAsync(client);
        var idle = System.Diagnostics.Stopwatch.StartNew();

        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        Assert.Equal(0, await client.ReceiveAsync(new byte[16], SocketFlags.None, cancel.Token));
        Assert.True(idle.Elapsed >= TimeSpan.FromSeconds(1.9), $"closed after {idle.Elapsed.TotalSeconds:0.0} s, before the 2 s client timeout");
    }

    [Fact]
    public async Task HeadNotFinishedInTime_408ThenClosed()
    {
        using var client = await ConnectAsync();

        await SendAsync(client, "GET / HTTP/1.1\r\nHost: x\r\n");
        var response = await ReadResponseAsync(client);

        Assert.StartsWith("HTTP/1.1 408 Request Timeout\r\n", response.Head);
        Assert.Equal(0, await client.ReceiveAsync(new byte[16], SocketFlags.None));
        Assert.Empty(Web.Heads);
    }

    [Fact]
    public async Task NoServerUp_503PlainText_WithRetryAfterAndServedBy()
    {
        Pool.SetHealth(Web1, up: false);
        using var client = await ConnectAsync();

        await SendAsync(client, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        var response = await ReadResponseAsync(client);

        Assert.StartsWith("HTTP/1.1 503 Service Unavailable\r\n", response.Head);
        Assert.Contains("\r\nRetry-After: 1\r\n", response.Head);
        Assert.Contains("\r\nX-Served-By: lb-1\r\n", response.Head);
        Assert.Equal("503 Service Unavailable: no web server is available\n", response.Body);
    }

    [Fact]
    public async Task ClientResetsInTheMiddleOfABody_NotCountedAgainstTheServer_NextRequestServed()
    {
        var body = new string('x', 32 * 1024 * 1024);
        Web.Answer = head => head.StartsWith("GET /big ") ? Response("200 OK", $"Content-Length: {body.Length}", body) : Response("200 OK", "Content-Length: 2", "ok");
        using (var client = await ConnectAsync())
        {
            await SendAsync(client, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
            await client.ReceiveAsync(new byte[1024], SocketFlags.None);

            // RST, while the load balancer still has most of the body to relay.
            client.LingerState = new LingerOption(true, 0);
        }

        Assert.True(await Eventually.TrueAsync(() => Task.FromResult(Web1.ActiveRequests == 0)), "the request never ended");
        Assert.Equal(0, Web1.TotalFailures);
        using var next = await ConnectAsync();
        await SendAsync(next, "GET /small HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal("ok", (await ReadResponseAsync(next)).Body);
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("1.0")]
    public async Task ClientReadsNothingOfItsAnswer_GivenUpAfterTheClientTimeout_NotCountedAgainstTheServer(string version)
    {
        var body = new string('x', 16 * 1024 * 1024);
        Web.Answer = _ => Response("200 OK", $"Content-Length: {body.Length}", body);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 64 * 1024 };
        await client.ConnectAsync(IPEndPoint.Parse(Address.Authority));
        var stalled = System.Diagnostics.Stopwatch.StartNew();

        // HTTP/1.1 takes the connection path; HTTP/1.0 is handed to Kestrel.
        await SendAsync(client, $"GET /big HTTP/{version}\r\nHost: x\r\n\r\n");

        // Nothing read: once the buffers are full, the answer waits for the client, which has the client timeout (2 s).
        Assert.True(await Eventually.TrueAsync(() => Task.FromResult(Web1.ActiveRequests == 1)), "the request never reached the server");
        Assert.True(await Eventually.TrueAsync(() => Task.FromResult(Web1.ActiveRequests == 0), TimeSpan.FromSeconds(30)), "the stalled answer was never given up");
        var givenUp = stalled.Elapsed;
        Assert.True(givenUp >= ClientTimeout, $"given up after {givenUp.TotalSeconds:0.0} s, before the client timeout");
        Assert.Equal(0, Web1.TotalFailures);

        // The client gets what was buffered, then the end of its connection, well before the whole answer.
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var (buffer, received) = (new byte[1024 * 1024], 0L);
        try
        {
            for (int n; (n = await client.ReceiveAsync(buffer, SocketFlags.None, cancel.Token)) > 0;)
            {
                received += n;
            }
        }
        catch (SocketException)
        {
            // Reset: closed too.
        }

        Assert.True(received < body.Length, $"the whole answer arrived ({received} bytes)");
    }

    private async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPEndPoint.Parse(Address.Authority));
        return socket;
    }

    private static async Task SendAsync(Socket socket, string text) => await socket.SendAsync(Encoding.ASCII.GetBytes(text), SocketFlags.None);

    /// <summary>Reads one response: the head up to its blank line, then a Content-Length body.</summary>
    private static async Task<(string Head, string Body)> ReadResponseAsync(Socket socket)
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var bytes = new List<byte>();
        var one = new byte[1];
        while (bytes.Count < 4 || bytes[^4] != '\r' || bytes[^3] != '\n' || bytes[^2] != '\r' || bytes[^1] != '\n')
        {
            Assert.True(await socket.ReceiveAsync(one, SocketFlags.None, cancel.Token) == 1, "the connection closed before a whole response head");
            bytes.Add(one[0]);
        }

        var head = Encoding.ASCII.GetString(bytes.ToArray());
        var lengthLine = head.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        var body = new byte[lengthLine is null ? 0 : int.Parse(lengthLine["Content-Length:".Length..].Trim())];
        for (var read = 0; read < body.Length;)
        {
            var n = await socket.ReceiveAsync(body.AsMemory(read), SocketFlags.None, cancel.Token);
            Assert.True(n > 0, "the connection closed in the middle of the body");
            read += n;
        }

        return (head, Encoding.UTF8.GetString(body));
    }
}
