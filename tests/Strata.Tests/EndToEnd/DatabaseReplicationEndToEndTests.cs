using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MySqlConnector;
using Strata.Data.Managed;
using Strata.Hosting.Processes;
using Strata.Tests.Common;
using Strata.Tests.Database;
using Strata.Topology;
using Xunit.Abstractions;

namespace Strata.Tests.EndToEnd;

/// <summary>One <c>strata up --db mysql</c> with two database nodes, shared by the replication tests (run one after another).</summary>
public sealed class ReplicatedDatabaseRun : IAsyncLifetime
{
    private static readonly TimeSpan UpTimeout = TimeSpan.FromSeconds(150);

    public ReplicatedDatabaseRun()
    {
        Nodes = [.. Enumerable.Range(1, 2).Select(i =>
        {
            var address = IPAddress.Parse($"127.0.4.{i}");
            return (Name: $"db-{i}", Port: FreePorts.Tcp(address), Management: new IPEndPoint(address, FreePorts.Tcp(address)));
        })];
        Run = EndToEndRun.Create(json => json["database"] = new JsonObject
        {
            ["engine"] = "mysql",
            ["managed"] = true,
            ["nodes"] = new JsonArray([.. Nodes.Select(n => (JsonNode)new JsonObject
            {
                ["name"] = n.Name,
                ["address"] = $"{n.Management.Address}:{n.Port}",
                ["management"] = n.Management.ToString(),
            })]),
        });
    }

    internal EndToEndRun Run { get; }

    internal IReadOnlyList<(string Name, int Port, IPEndPoint Management)> Nodes { get; }

    public async Task InitializeAsync()
    {
        try
        {
            Strata.Database.Server.MariaDbInstallation.Locate();
        }
        catch (Strata.Database.Server.DatabaseServerException)
        {
            return; // Each test reports it (MariaDbRequirement).
        }

        await Run.StrataAsync(UpTimeout, "up", "--detach", "--db", "mysql");
    }

    public async Task DisposeAsync() => await Run.DisposeAsync();
}

/// <summary>
/// The database tier without a single point of failure (docs/database.md), on the real executable and real MariaDB
/// servers: db-2 replicates db-1; a primary killed under writes is replaced by its replica with every acknowledged
/// write; the old primary comes back as a read-only replica; a switchover under writes fails none; a node holding a
/// transaction the primary never had refuses to follow it, and started afresh copies the primary.
/// </summary>
public sealed class DatabaseReplicationEndToEndTests(ReplicatedDatabaseRun fixture, ITestOutputHelper output) : IClassFixture<ReplicatedDatabaseRun>
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(40);
    private readonly EndToEndRun _run = fixture.Run;

    [SkippableFact]
    public async Task Replica_CatchesUp_StatusShowsRolesPositionsAndLag()
    {
        var (primary, replica) = await HealthyPairAsync();
        var texts = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            texts.Add($"catch-up {Guid.NewGuid():n}");
            using var response = await _run.Client.PostAsJsonAsync(new Uri(_run.Site, "/api/messages"), new { author = "e2e", text = texts[^1] });
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        // Semi-sync: every acknowledged write was on the replica before the 201, so it is there once applied.
        await WaitAsync(async () => (await TextsAsync(replica)).IsSupersetOf(texts), "the replica to apply the writes");
        Assert.True(await ReadOnlyAsync(replica), $"{replica} must be read-only");
        Assert.False(await ReadOnlyAsync(primary), $"{primary} must take writes");

        var status = (await _run.StrataAsync("status")).Output;
        Assert.Contains($"{primary} primary (strict) at 0-", status, StringComparison.Ordinal);
        Assert.Contains($"{replica} replica of {primary}, 0 s behind, at 0-", status, StringComparison.Ordinal);
        var metrics = await _run.Client.GetStringAsync(new Uri($"http://{Node(primary).Management}/metrics"));
        Assert.Contains("strata_db_primary{", metrics, StringComparison.Ordinal);
        Assert.Matches(@"strata_db_primary\{[^}]*\} 1", metrics);
    }

    [SkippableFact]
    public async Task PrimaryKilledUnderWrites_ReplicaTakesOverWithEveryAcknowledgedWrite_OldPrimaryRejoinsReadOnly()
    {
        var (primary, replica) = await HealthyPairAsync();
        await using var writers = Writers.Start(_run, 4);
        await writers.AcknowledgedAsync(50);

        await _run.StrataAsync("kill", primary);
        var killedAt = writers.Count;
        await WaitAsync(async () => (await StateAsync(replica))?["role"]?.GetValue<string>() == "primary", $"{replica} to become primary");
        await writers.AcknowledgedAsync(killedAt + 50);
        var (acknowledged, failures) = await writers.StopAsync();

        output.WriteLine($"{acknowledged.Count} writes acknowledged, {failures.Count} failed: {string.Join("; ", failures.Take(5))}");
        await AssertAllPresentAsync(acknowledged);

        await _run.StrataAsync(TimeSpan.FromSeconds(90), "start", primary);
        await WaitAsync(async () => (await StateAsync(primary))?["following"]?.GetValue<string>() == replica, $"{primary} to follow {replica}");
        Assert.True(await ReadOnlyAsync(primary), $"{primary}, back, must be read-only");
        await WaitAsync(async () => (await TextsAsync(primary)).IsSupersetOf(acknowledged.Select(a => a.Text)), $"{primary} to catch up");
    }

    [SkippableFact]
    public async Task PrimaryWritingAloneKilled_TheReplicaDoesNotTakeOver_ThePrimaryComesBackWithEveryAcknowledgedWrite()
    {
        var (primary, replica) = await HealthyPairAsync();
        await using var writers = Writers.Start(_run, 4);
        await writers.AcknowledgedAsync(20);

        // The replica dies: the primary writes alone (only it has what it acknowledges from now on).
        await _run.StrataAsync("kill", replica);
        await WaitAsync(async () => (await StateAsync(primary))?["mode"]?.GetValue<string>() == "alone", $"{primary} to write alone");
        await writers.AcknowledgedAsync(writers.Count + 50);

        // Then the primary dies too, and the replica comes back first: it must not take over without those writes.
        await _run.StrataAsync("kill", primary);
        var replicaStart = StrataCli.RunAsync(TimeSpan.FromSeconds(120), "start", replica, "-f", _run.TopologyPath);
        await WaitAsync(async () => await StateAsync(replica) is not null, $"{replica} to answer");
        await Task.Delay(TimeSpan.FromSeconds(5));
        Assert.NotEqual("primary", (await StateAsync(replica))?["role"]?.GetValue<string>());

        await _run.StrataAsync(TimeSpan.FromSeconds(90), "start", primary);
        try
        {
            await WaitAsync(async () => (await StateAsync(primary))?["role"]?.GetValue<string>() == "primary", $"{primary} to be primary again");
        }
        catch
        {
            foreach (var node in fixture.Nodes)
            {
                output.WriteLine($"--- {node.Name}: {await StateAsync(node.Name)}");
                output.WriteLine(string.Join('\n', File.ReadLines(Path.Combine(_run.Directory, ".strata", "logs", $"{node.Name}.log")).Where(l => l.Contains("Replication", StringComparison.Ordinal)).TakeLast(15)));
            }

            throw;
        }

        var started = await replicaStart;
        Assert.True(started.ExitCode == 0, $"start {replica}: {started.Output}{started.Error}");
        var (acknowledged, _) = await writers.StopAsync();
        await AssertAllPresentAsync(acknowledged);
        await HealthyPairAsync();
    }

    [SkippableFact]
    public async Task Switchover_UnderWrites_NoWriteFails()
    {
        var (primary, replica) = await HealthyPairAsync();
        await using var writers = Writers.Start(_run, 4);
        await writers.AcknowledgedAsync(50);

        var result = await _run.StrataAsync("switchover", replica);
        output.WriteLine(result.Output);
        var before = writers.Count;
        await writers.AcknowledgedAsync(before + 50);
        var (acknowledged, failures) = await writers.StopAsync();

        Assert.Empty(failures);
        Assert.Equal("primary", (await StateAsync(replica))!["role"]!.GetValue<string>());
        await WaitAsync(async () => (await StateAsync(primary))?["following"]?.GetValue<string>() == replica, $"{primary} to follow {replica}");
        await AssertAllPresentAsync(acknowledged);
    }

    [SkippableFact]
    public async Task ReplicaHoldingATransactionThePrimaryNeverHad_RefusesToFollow_AndStartedAfreshCopiesThePrimary()
    {
        var (primary, replica) = await HealthyPairAsync();

        // Someone writes on the replica behind Strata's back (read_only lifted as the administrator).
        await AdministerAsync(replica, "STOP SLAVE; SET GLOBAL read_only = 0; INSERT INTO foobar.messages (author, text, created_at) VALUES ('rogue', 'only on the replica', 0); SET GLOBAL read_only = 1;");
        await WaitAsync(async () => (await StateAsync(replica))?["role"]?.GetValue<string>() == "diverged", $"{replica} to refuse to follow");
        var state = (await StateAsync(replica))!;
        Assert.Contains($"holds transactions {primary} never had", state["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains($"{replica} diverged", (await _run.StrataAsync("status")).Output, StringComparison.Ordinal);
        using (var write = await _run.Client.PostAsJsonAsync(new Uri(_run.Site, "/api/messages"), new { author = "e2e", text = "the primary still writes" }))
        {
            Assert.Equal(HttpStatusCode.Created, write.StatusCode);
        }

        // Started afresh (its folder removed), it copies the primary and follows it.
        await _run.StrataAsync("kill", replica);
        Directory.Delete(Path.Combine(_run.Directory, ".strata", replica), recursive: true);
        await _run.StrataAsync(TimeSpan.FromSeconds(120), "start", replica);
        await WaitAsync(async () => (await StateAsync(replica))?["following"]?.GetValue<string>() == primary, $"{replica} to follow {primary} again");
        var texts = await TextsAsync(replica);
        Assert.Contains("the primary still writes", texts);
        Assert.DoesNotContain("only on the replica", texts);
    }

    [SkippableFact]
    public async Task ShortDrillOnTheDatabaseTier_NoAcknowledgedWriteLost_EveryNodeBack()
    {
        await HealthyPairAsync();
        var reports = Path.Combine(_run.Directory, "drill-reports");
        var result = await StrataCli.RunAsync(TimeSpan.FromSeconds(180), "drill", "--duration", "15", "--seed", "5", "--tiers", "db", "-o", reports, "-f", _run.TopologyPath);
        output.WriteLine(result.Output);

        var report = JsonNode.Parse(File.ReadAllText(Assert.Single(Directory.GetFiles(reports, "drill-*-seed5.json"))))!;
        var writes = report["writes"]!;
        Assert.True(writes["verified"]!.GetValue<bool>(), writes["problem"]?.GetValue<string>());
        Assert.True(writes["acknowledged"]!.GetValue<int>() > 0, "no write was acknowledged");
        Assert.Equal(0, writes["missing"]!.GetValue<int>());
        var events = report["events"]!.AsArray();
        Assert.NotEmpty(events);
        Assert.All(events, e => Assert.True(e!["restored"]!.GetValue<bool>() && e["backInService"]!.GetValue<bool>(), $"event #{e["number"]} on {e["node"]}: {e["problem"]}"));
        Assert.True(report["requests"]!["unexpectedReads"]!.GetValue<int>() == 0, $"unexpected GET failures: {report["requests"]}");
        await HealthyPairAsync();
    }

    /// <summary>Waits until one node is a strict primary and the other its replica; returns their names.</summary>
    private async Task<(string Primary, string Replica)> HealthyPairAsync()
    {
        MariaDbRequirement.Check(output);
        (string, string)? pair = null;
        await WaitAsync(
            async () =>
            {
                var states = await Task.WhenAll(fixture.Nodes.Select(n => StateAsync(n.Name)));
                var primary = states.FirstOrDefault(s => s?["role"]?.GetValue<string>() == "primary" && s["mode"]?.GetValue<string>() == "strict");
                var replica = states.FirstOrDefault(s => s?["role"]?.GetValue<string>() == "replica" && s["lagSeconds"] is not null);
                pair = primary is null || replica is null ? null : (primary["node"]!.GetValue<string>(), replica["node"]!.GetValue<string>());
                return pair is not null;
            },
            "a strict primary and its replica");
        await SiteReadsAsync();
        return pair!.Value;
    }

    private Task SiteReadsAsync() => WaitAsync(
        async () =>
        {
            using var response = await _run.Client.GetAsync(new Uri(_run.Site, "/api/messages?limit=1"));
            return response.StatusCode == HttpStatusCode.OK;
        },
        "the site to read messages");

    private async Task AssertAllPresentAsync(IReadOnlyList<(string Text, long Id)> acknowledged)
    {
        Assert.NotEmpty(acknowledged);
        // The app nodes come back into rotation after the web nodes' rise checks: the site answers reads first.
        await SiteReadsAsync();
        var missing = new List<string>();
        var deadline = DateTime.UtcNow + Settle;
        foreach (var (text, id) in acknowledged)
        {
            // A 503 says the site could not look (an app node's database check still settling), not that the row is
            // missing: asked again, as the drill's read-back does, within the settle time.
            var response = await _run.Client.GetAsync(new Uri(_run.Site, $"/api/messages/{id}"));
            while (response.StatusCode == HttpStatusCode.ServiceUnavailable && DateTime.UtcNow < deadline)
            {
                response.Dispose();
                await Task.Delay(100);
                response = await _run.Client.GetAsync(new Uri(_run.Site, $"/api/messages/{id}"));
            }

            using (response)
            {
                var body = response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonObject>() : null;
                if (body?["text"]?.GetValue<string>() != text)
                {
                    missing.Add($"{id} ({(int)response.StatusCode})");
                }
            }
        }

        Assert.True(missing.Count == 0, $"{missing.Count} of {acknowledged.Count} acknowledged writes are missing: {string.Join(", ", missing.Take(10))}");
    }

    private (string Name, int Port, IPEndPoint Management) Node(string name) => fixture.Nodes.Single(n => n.Name == name);

    private async Task<JsonObject?> StateAsync(string node)
    {
        try
        {
            return await _run.Client.GetFromJsonAsync<JsonObject>(new Uri($"http://{Node(node).Management}/db/state"));
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private async Task<bool> ReadOnlyAsync(string node)
    {
        await using var connection = await AdminAsync(node);
        await using var command = new MySqlCommand("SELECT @@read_only", connection);
        return Convert.ToInt32(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture) == 1;
    }

    private async Task<HashSet<string>> TextsAsync(string node)
    {
        await using var connection = await AdminAsync(node);
        await using var command = new MySqlCommand("SELECT text FROM foobar.messages", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var texts = new HashSet<string>(StringComparer.Ordinal);
        while (await reader.ReadAsync())
        {
            texts.Add(reader.GetString(0));
        }

        return texts;
    }

    private async Task AdministerAsync(string node, string sql)
    {
        await using var connection = await AdminAsync(node);
        await using var command = new MySqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The node's server as its administrator, over its socket (as the node itself connects).</summary>
    private Task<MySqlConnection> AdminAsync(string node) =>
        ManagedDatabaseAccount.OpenAdminAsync(ManagedDatabase.SocketPath(Path.Combine(_run.Directory, ".strata", node)), CancellationToken.None);

    private static async Task WaitAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Settle;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"waited {Settle.TotalSeconds:0} s for {what}");
            await Task.Delay(100);
        }
    }

    /// <summary>Clients POSTing messages with unique texts through the VIP, recording what was acknowledged and what failed.</summary>
    private sealed class Writers : IAsyncDisposable
    {
        private readonly ConcurrentQueue<(string Text, long Id)> _acknowledged = new();
        private readonly ConcurrentQueue<string> _failures = new();
        private readonly CancellationTokenSource _stop = new(TimeSpan.FromSeconds(90));
        private readonly List<Task> _tasks = [];

        public int Count => _acknowledged.Count;

        public static Writers Start(EndToEndRun run, int count)
        {
            var writers = new Writers();
            for (var w = 0; w < count; w++)
            {
                var writer = w;
                writers._tasks.Add(Task.Run(() => writers.WriteAsync(run, writer)));
            }

            return writers;
        }

        public async Task AcknowledgedAsync(int count)
        {
            while (_acknowledged.Count < count)
            {
                Assert.False(_stop.IsCancellationRequested, $"only {_acknowledged.Count} of {count} writes acknowledged in time; failures: {string.Join("; ", _failures.Take(5))}");
                await Task.Delay(20);
            }
        }

        public async Task<(IReadOnlyList<(string Text, long Id)> Acknowledged, IReadOnlyList<string> Failures)> StopAsync()
        {
            await _stop.CancelAsync();
            await Task.WhenAll(_tasks);
            return ([.. _acknowledged], [.. _failures]);
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            _stop.Dispose();
        }

        private async Task WriteAsync(EndToEndRun run, int writer)
        {
            for (var n = 0; !_stop.IsCancellationRequested; n++)
            {
                var text = $"writer {writer} message {n} {Guid.NewGuid():n}";
                try
                {
                    using var response = await run.Client.PostAsJsonAsync(new Uri(run.Site, "/api/messages"), new { author = "e2e", text }, CancellationToken.None);
                    if (response.StatusCode == HttpStatusCode.Created)
                    {
                        _acknowledged.Enqueue((text, (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<long>()));
                    }
                    else
                    {
                        _failures.Enqueue($"{(int)response.StatusCode}");
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    _failures.Enqueue(ex.GetType().Name);
                }
            }
        }
    }
}
