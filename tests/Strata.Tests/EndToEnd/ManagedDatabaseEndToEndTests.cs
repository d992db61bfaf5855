using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MySqlConnector;
using Strata.Hosting.Processes;
using Strata.Tests.Common;
using Strata.Tests.Database;
using Xunit.Abstractions;

namespace Strata.Tests.EndToEnd;

/// <summary>
/// <c>strata up --db mysql</c>: the seed's topology with its dedicated MariaDB server as the db-1 node, through the
/// VIP; then durability under a bounded stream of writes while the database server and an app node are SIGKILLed
/// and started again: every 201 is a committed row, and while the database is down clients get quick 503s, not hangs.
/// </summary>
public sealed class ManagedDatabaseEndToEndTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan UpTimeout = TimeSpan.FromSeconds(150);

    // The server on its own loopback address, as by default, but on free ports (a developer's run may hold 3306).
    private static readonly int ServerPort = FreePorts.Tcp(IPAddress.Parse("127.0.4.1"));

    private readonly EndToEndRun _run = EndToEndRun.Create(json => json["database"] = new JsonObject
    {
        ["engine"] = "mysql",
        ["managed"] = true,
        ["node"] = new JsonObject
        {
            ["address"] = $"127.0.4.1:{ServerPort}",
            ["management"] = $"127.0.4.1:{FreePorts.Tcp(IPAddress.Parse("127.0.4.1"))}",
        },
    });

    private readonly ConcurrentQueue<(string Text, long Id)> _acknowledged = new();
    private readonly ConcurrentQueue<string> _problems = new();
    private readonly ConcurrentDictionary<int, int> _statuses = new();
    private int _unavailableWhileDatabaseDown;
    private volatile bool _databaseDown;
    private volatile bool _appNodeKilled;
    private int _cutWhileAppNodeKilled;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _run.DisposeAsync();

    [SkippableFact]
    public async Task UpDbMysql_SiteWorksThroughTheVip_AndNoAcknowledgedWriteIsLostWhenTheDatabaseAndAnAppNodeAreKilled()
    {
        MariaDbRequirement.Check(output);

        // up --db mysql: eight nodes, db-1 among them, all ready.
        await _run.StrataAsync(UpTimeout, "up", "--detach", "--db", "mysql");
        var status = await _run.StatusAsync();
        var db = status["nodes"]!.AsArray().Single(n => n!["name"]!.GetValue<string>() == "db-1")!;
        Assert.Equal(("db", $"127.0.4.1:{ServerPort}", "ready"), (db["role"]!.GetValue<string>(), db["address"]!.GetValue<string>(), db["state"]!.GetValue<string>()));
        Assert.Equal(8, status["nodes"]!.AsArray().Count);

        // The site through the VIP, its data in MariaDB.
        using (var home = await _run.GetAsync("/"))
        {
            Assert.Equal(HttpStatusCode.OK, home.StatusCode);
        }

        var first = await PostAsync("first message, in MariaDB");
        Assert.Equal(HttpStatusCode.Created, first);
        Assert.Contains("first message, in MariaDB", await ReadRowsAsync());

        // Writes from four clients; the drills run as the acknowledgements pass thresholds.
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var writers = Enumerable.Range(0, 4).Select(w => WriteAsync(w, stop.Token)).ToList();
        var appReady = new Uri(status["nodes"]!.AsArray().Single(n => n!["name"]!.GetValue<string>() == "app-1")!["managementUrl"]!.GetValue<string>() + "readyz");

        await AcknowledgedAsync(100, stop.Token);
        _databaseDown = true;
        await _run.StrataAsync("kill", "db-1");
        Assert.True(
            await Eventually.TrueAsync(async () => (await _run.Client.GetAsync(appReady)).StatusCode == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(15)),
            "app-1's /readyz still said ready with the database down");
        Assert.True(
            await Eventually.TrueAsync(() => Task.FromResult(Volatile.Read(ref _unavailableWhileDatabaseDown) >= 10), TimeSpan.FromSeconds(15)),
            "the writers saw no 503 while the database was down");
        using (var css = await _run.GetAsync("/static/site.css"))
        {
            Assert.Equal(HttpStatusCode.OK, css.StatusCode);
        }

        await _run.StrataAsync("start", "db-1");
        _databaseDown = false;

        var before = _acknowledged.Count;
        await AcknowledgedAsync(before + 100, stop.Token);
        _appNodeKilled = true;
        await _run.StrataAsync("kill", "app-1");
        await AcknowledgedAsync(_acknowledged.Count + 100, stop.Token);
        _appNodeKilled = false;
        await _run.StrataAsync("start", "app-1");
        await AcknowledgedAsync(_acknowledged.Count + 50, stop.Token);
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        output.WriteLine($"acknowledged {_acknowledged.Count}; answers: {string.Join(", ", _statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}"))}; 503s while the database was down: {_unavailableWhileDatabaseDown}; responses cut when app-1 was killed: {_cutWhileAppNodeKilled}");
        Assert.True(_cutWhileAppNodeKilled <= 4, $"{_cutWhileAppNodeKilled} responses were cut when app-1 was killed: more than the four writers had in flight");
        Assert.True(_problems.IsEmpty, $"{_problems.Count} requests failed otherwise than with a quick 503/502: {string.Join("; ", _problems.Take(5))}");

        // Every acknowledged message is in the database, as acknowledged.
        var rows = await ReadRowsAsync();
        var lost = _acknowledged.Where(a => !rows.Contains(a.Text)).ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} of {_acknowledged.Count} acknowledged messages are missing, e.g. {string.Join(", ", lost.Take(5))}");
    }

    /// <summary>POSTs unique messages until cancelled, recording every answer; bounded by the test's 120 s.</summary>
    private async Task WriteAsync(int writer, CancellationToken stop)
    {
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            var text = $"writer {writer} message {i} {Guid.NewGuid():N}";
            var started = Stopwatch.GetTimestamp();
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_run.Site, "/api/messages")) { Content = JsonContent.Create(new { author = "e2e", text }) };
                using var response = await _run.Client.SendAsync(request, CancellationToken.None);
                _statuses.AddOrUpdate((int)response.StatusCode, 1, (_, n) => n + 1);
                switch (response.StatusCode)
                {
                    case HttpStatusCode.Created:
                        var id = (await response.Content.ReadFromJsonAsync<JsonObject>(CancellationToken.None))!["id"]!.GetValue<long>();
                        _acknowledged.Enqueue((text, id));
                        break;
                    case HttpStatusCode.ServiceUnavailable when response.Headers.RetryAfter is not null:
                        if (_databaseDown)
                        {
                            Interlocked.Increment(ref _unavailableWhileDatabaseDown);
                        }

                        await Task.Delay(20, CancellationToken.None);
                        break;
                    case HttpStatusCode.BadGateway:
                        // A POST in flight on app-1 when it was killed: not retried (not idempotent), not acknowledged.
                        await Task.Delay(20, CancellationToken.None);
                        break;
                    default:
                        _problems.Enqueue($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(CancellationToken.None)}");
                        break;
                }
            }
            catch (HttpRequestException) when (_appNodeKilled && Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(2))
            {
                // A response app-1 had begun (a chunked body's last chunk not yet written) when it was SIGKILLed: the
                // proxies have sent the head, so they can only cut the connection, as HAProxy and nginx do. Not
                // acknowledged, so not counted as a write.
                Interlocked.Increment(ref _cutWhileAppNodeKilled);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // A hang ends here after the client's 10 s.
                _problems.Enqueue($"{ex.GetType().Name} after {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s: {ex.Message}");
            }
        }
    }

    private async Task AcknowledgedAsync(int count, CancellationToken stop)
    {
        while (_acknowledged.Count < count)
        {
            Assert.False(stop.IsCancellationRequested, $"only {_acknowledged.Count} of {count} writes were acknowledged in time; problems: {string.Join("; ", _problems.Take(5))}");
            await Task.Delay(20, CancellationToken.None);
        }
    }

    private async Task<HttpStatusCode> PostAsync(string text)
    {
        using var response = await _run.Client.PostAsJsonAsync(new Uri(_run.Site, "/api/messages"), new { author = "e2e", text });
        return response.StatusCode;
    }

    /// <summary>Every message text in the database, read over the application's account (its password from the run folder).</summary>
    private async Task<HashSet<string>> ReadRowsAsync()
    {
        var password = (await File.ReadAllTextAsync(Path.Combine(_run.Directory, ".strata", "database", "password"))).Trim();
        await using var connection = new MySqlConnection($"Server=127.0.4.1;Port={ServerPort};Database=foobar;User ID=strata;Password={password};Pooling=false");
        await connection.OpenAsync();
        await using var command = new MySqlCommand("SELECT text FROM messages", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var texts = new HashSet<string>(StringComparer.Ordinal);
        while (await reader.ReadAsync())
        {
            texts.Add(reader.GetString(0));
        }

        return texts;
    }
}
