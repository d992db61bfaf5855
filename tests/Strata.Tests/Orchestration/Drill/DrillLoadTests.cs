using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Strata.Hosting.Processes;
using Strata.Orchestration.Drill;

namespace Strata.Tests.Orchestration.Drill;

/// <summary>
/// The drill's client side against real servers on loopback: how each way a request can end is classified (a port
/// nobody listens on, a server that resets, closes early, never answers, or answers a status), the load's mix against a
/// guestbook, and the read-back of acknowledged writes.
/// </summary>
public sealed class DrillLoadTests
{
    private static readonly DrillOptions Options = new() { Seed = 1, Clients = 2, RatePerClient = 100, RequestTimeout = TimeSpan.FromSeconds(5) };

    [Fact]
    public async Task Get_NothingListens_Refused()
    {
        var vip = new IPEndPoint(IPAddress.Loopback, FreePorts.Tcp());

        var request = await GetOnceAsync(vip, Options);

        Assert.Equal(FailureCause.Refused, request.Cause);
    }

    [Fact]
    public async Task Get_ServerResetsTheConnection_Reset()
    {
        await using var server = RawServer.Start(async socket =>
        {
            await ReadHeadAsync(socket);
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        });

        Assert.Equal(FailureCause.Reset, (await GetOnceAsync(server.EndPoint, Options)).Cause);
    }

    [Fact]
    public async Task Get_ServerClosesBeforeTheWholeBody_Reset()
    {
        await using var server = RawServer.Start(async socket =>
        {
            await ReadHeadAsync(socket);
            await socket.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part"u8.ToArray());
            socket.Shutdown(SocketShutdown.Both);
            socket.Close();
        });

        Assert.Equal(FailureCause.Reset, (await GetOnceAsync(server.EndPoint, Options)).Cause);
    }

    [Fact]
    public async Task Get_ServerNeverAnswers_TimeoutAfterTheRequestTimeout()
    {
        await using var server = RawServer.Start(async socket =>
        {
            await ReadHeadAsync(socket);
            await Task.Delay(TimeSpan.FromSeconds(10));
        });

        var request = await GetOnceAsync(server.EndPoint, Options with { RequestTimeout = TimeSpan.FromMilliseconds(300) });

        Assert.Equal(FailureCause.Timeout, request.Cause);
        Assert.InRange(request.EndMs - request.StartMs, 250, 5000);
    }

    [Theory]
    [InlineData(200, FailureCause.None)]
    [InlineData(502, FailureCause.Http502)]
    [InlineData(503, FailureCause.Http503)]
    [InlineData(504, FailureCause.Http504)]
    [InlineData(500, FailureCause.Other)]
    [InlineData(429, FailureCause.Other)]
    public async Task Get_Status_ClassifiedByIt(int status, FailureCause expected)
    {
        await using var server = RawServer.Start(async socket =>
        {
            await ReadHeadAsync(socket);
            await socket.SendAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {status} Whatever\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"));
            socket.Shutdown(SocketShutdown.Both);
        });

        var request = await GetOnceAsync(server.EndPoint, Options);

        Assert.Equal((expected, status), (request.Cause, request.Status));
    }

    [Fact]
    public async Task Post_AnsweredOtherThan201_NotAcknowledged()
    {
        await using var site = await Guestbook.StartAsync();
        site.PostStatus = 200;
        using var drillSite = Site(site.EndPoint);
        var load = new DrillLoad(drillSite, new DrillClock(TimeProvider.System), Options, "drill-1-test", TimeSpan.FromSeconds(30));
        var acknowledged = new List<AcknowledgedWrite>();

        var request = await load.PostAsync(acknowledged);

        Assert.Equal((FailureCause.Other, 200), (request.Cause, request.Status));
        Assert.Empty(acknowledged);
        Assert.Equal("write: HTTP 200", Assert.Single(load.OtherFailures).Key);
    }

    [Fact]
    public async Task Load_AgainstAGuestbook_EveryKindSentEveryWriteAcknowledgedAndReadBack()
    {
        await using var site = await Guestbook.StartAsync();
        using var drillSite = Site(site.EndPoint);
        var load = new DrillLoad(drillSite, new DrillClock(TimeProvider.System), Options, "drill-1-test", TimeSpan.FromSeconds(30));

        load.Start();
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var (requests, acknowledged) = await load.StopAsync();
        // Newer messages than the drill's, so the read-back pages down past them.
        site.Add(150, "someone else");
        var listingsBefore = site.ListRequests;
        var verification = await DrillReadBack.VerifyAsync(drillSite, acknowledged, Options.RequestTimeout, TimeProvider.System);

        Assert.True(requests.Count >= 50, $"only {requests.Count} requests in 1.5 s at 2 × 100/s");
        Assert.Equal([DrillRequestKind.Static, DrillRequestKind.Dynamic, DrillRequestKind.Write], requests.Select(r => r.Kind).Distinct().Order());
        Assert.All(requests, r => Assert.Equal(FailureCause.None, r.Cause));
        Assert.Equal(requests.Count(r => r.Kind == DrillRequestKind.Write), acknowledged.Count);
        Assert.All(acknowledged, a => Assert.Matches("^drill-1-test-[0-9]+$", a.Text));
        Assert.Equal(acknowledged.Count, acknowledged.Select(a => a.Text).Distinct().Count());
        Assert.Equal(acknowledged.Select(a => a.Id).Order(), site.Stored.Where(m => m.Text.StartsWith("drill-", StringComparison.Ordinal)).Select(m => m.Id).Order());
        Assert.True(verification.Complete, verification.Problem);
        Assert.Equal((acknowledged.Count, acknowledged.Count, 0), (verification.Acknowledged, verification.Present, verification.Duplicated));
        Assert.Empty(verification.Missing);
        Assert.True(site.ListRequests - listingsBefore >= 2, "the read-back did not page past the newer messages");
    }

    [Fact]
    public async Task ReadBack_AcknowledgedWriteLost_MissingWithItsId()
    {
        await using var site = await Guestbook.StartAsync();
        using var drillSite = Site(site.EndPoint);
        var written = Enumerable.Range(1, 250).Select(n => site.Add($"drill-1-test-{n}")).ToList();
        site.Remove(written[9].Id);
        site.Add(3, "someone else");

        var verification = await DrillReadBack.VerifyAsync(drillSite, written, Options.RequestTimeout, TimeProvider.System);

        Assert.True(verification.Complete, verification.Problem);
        Assert.Equal((250, 249), (verification.Acknowledged, verification.Present));
        Assert.Equal([written[9]], verification.Missing);
    }

    [Fact]
    public async Task ReadBack_DatabaseBrieflyUnavailableAndATextTwice_AskedAgainDuplicateCounted()
    {
        await using var site = await Guestbook.StartAsync();
        using var drillSite = Site(site.EndPoint);
        var written = Enumerable.Range(1, 5).Select(n => site.Add($"drill-1-test-{n}")).ToList();
        site.Add("drill-1-test-3");
        site.UnavailableListings = 3;

        var verification = await DrillReadBack.VerifyAsync(drillSite, written, Options.RequestTimeout, TimeProvider.System);

        Assert.True(verification.Complete, verification.Problem);
        Assert.Equal((5, 5, 1), (verification.Acknowledged, verification.Present, verification.Duplicated));
        Assert.Empty(verification.Missing);
        Assert.Equal(4, site.ListRequests);
    }

    private static DrillSite Site(IPEndPoint vip) => new(vip, "www.foobar.com", Options.Clients, Options.RequestTimeout);

    private static async Task<DrillRequest> GetOnceAsync(IPEndPoint vip, DrillOptions options)
    {
        using var site = new DrillSite(vip, "www.foobar.com", 1, options.RequestTimeout);
        var load = new DrillLoad(site, new DrillClock(TimeProvider.System), options, "drill-1-test", TimeSpan.FromSeconds(30));
        return await load.GetAsync(DrillRequestKind.Static, new Uri(site.Address, "/static/site.css"), new byte[1024]);
    }

    /// <summary>Reads until the end of a request's head (the tests' requests have no body).</summary>
    private static async Task ReadHeadAsync(Socket socket)
    {
        var buffer = new byte[4096];
        var head = new StringBuilder();
        while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await socket.ReceiveAsync(buffer);
            if (read == 0)
            {
                return;
            }

            head.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }
    }

    /// <summary>A TCP server on 127.0.0.1:0 that hands each connection to <c>handle</c>; disposing it stops it.</summary>
    private sealed class RawServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private Task _accepting = Task.CompletedTask;

        public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

        public static RawServer Start(Func<Socket, Task> handle)
        {
            var server = new RawServer();
            server._listener.Start();
            server._accepting = server.AcceptAsync(handle);
            return server;
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _listener.Stop();
            await _accepting;
            _stop.Dispose();
        }

        private async Task AcceptAsync(Func<Socket, Task> handle)
        {
            var connections = new List<Task>();
            try
            {
                while (true)
                {
                    var socket = await _listener.AcceptSocketAsync(_stop.Token);
                    connections.Add(Task.Run(async () =>
                    {
                        using (socket)
                        {
                            try
                            {
                                await handle(socket).WaitAsync(_stop.Token);
                            }
                            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
                            {
                            }
                        }
                    }));
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }

            await Task.WhenAll(connections);
        }
    }

    /// <summary>
    /// A guestbook as the drill sees one, in memory on a real Kestrel server: the site's files, the home page, the
    /// messages API (newest first, <c>limit</c> and <c>before</c>) and 201 for a POST.
    /// </summary>
    private sealed class Guestbook : IAsyncDisposable
    {
        private readonly List<(long Id, string Text)> _messages = [];
        private WebApplication? _app;
        private long _nextId;
        private int _listRequests;

        public IPEndPoint EndPoint { get; private set; } = new(IPAddress.Loopback, 0);

        /// <summary>What a POST is answered; 201 unless changed.</summary>
        public int PostStatus { get; set; } = 201;

        /// <summary>How many listings to answer 503 (the database briefly unavailable) before answering again.</summary>
        public int UnavailableListings { get; set; }

        public int ListRequests => Volatile.Read(ref _listRequests);

        public List<(long Id, string Text)> Stored
        {
            get
            {
                lock (_messages)
                {
                    return [.. _messages];
                }
            }
        }

        public static async Task<Guestbook> StartAsync()
        {
            var site = new Guestbook();
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = site._app = builder.Build();
            app.MapGet("/static/{file}", () => "body { }");
            app.MapGet("/robots.txt", () => "User-agent: *");
            app.MapGet("/", () => Results.Content("<!DOCTYPE html><p>guestbook</p>", "text/html"));
            app.MapGet("/api/messages", (HttpRequest request) => site.List(request));
            app.MapPost("/api/messages", async (HttpRequest request) =>
            {
                var body = await System.Text.Json.JsonDocument.ParseAsync(request.Body);
                var text = body.RootElement.GetProperty("text").GetString()!;
                if (site.PostStatus != 201)
                {
                    return Results.StatusCode(site.PostStatus);
                }

                var (id, _) = site.Add(text);
                return Results.Created($"/api/messages/{id}", new { id, author = "strata drill", text });
            });
            await app.StartAsync();
            site.EndPoint = IPEndPoint.Parse(new Uri(app.Urls.First()).Authority);
            return site;
        }

        public AcknowledgedWrite Add(string text)
        {
            lock (_messages)
            {
                var message = (++_nextId, text);
                _messages.Add(message);
                return new AcknowledgedWrite(message.Item1, text);
            }
        }

        public void Add(int count, string text)
        {
            for (var i = 0; i < count; i++)
            {
                Add(text);
            }
        }

        public void Remove(long id)
        {
            lock (_messages)
            {
                _messages.RemoveAll(m => m.Id == id);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_app is not null)
            {
                await _app.StopAsync();
                await _app.DisposeAsync();
            }
        }

        private IResult List(HttpRequest request)
        {
            var limit = int.Parse(request.Query["limit"].FirstOrDefault() ?? "50", CultureInfo.InvariantCulture);
            var before = long.TryParse(request.Query["before"].FirstOrDefault(), out var b) ? b : long.MaxValue;
            if (Interlocked.Increment(ref _listRequests) <= UnavailableListings)
            {
                return Results.StatusCode(503);
            }

            lock (_messages)
            {
                return Results.Json(_messages.Where(m => m.Id < before).OrderByDescending(m => m.Id).Take(limit)
                    .Select(m => new { id = m.Id, author = "a", text = m.Text, createdAt = DateTimeOffset.UnixEpoch }).ToList());
            }
        }
    }
}
