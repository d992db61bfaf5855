using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MySqlConnector;
using Strata.Tests.Cluster.Wire;
using Strata.Tests.Common;
using Strata.Topology;
using Xunit.Abstractions;

namespace Strata.Tests.Database;

/// <summary>
/// The database nodes under <c>strata up --netns --db mysql</c>, cut from each other and from everyone (as root, real
/// namespaces, real MariaDB): at no moment do two servers take writes; the primary cut off from the voters is fenced
/// and its replica takes over; healed, the old primary follows the new one.
/// </summary>
public sealed class DatabaseSplitTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(40);

    [SkippableFact]
    public async Task Cuts_NeverTwoWritableServers_TheCutOffPrimaryIsFencedAndItsReplicaTakesOver()
    {
        MariaDbRequirement.Check(output);
        await using var run = new NetnsTopology("--db", "mysql");
        await run.InitializeAsync();
        if (!NetnsTestNetwork.CheckOrReport(run.Unavailable, output))
        {
            return;
        }

        Assert.True(run.UpFailure is null, run.UpFailure);
        var folder = Path.Combine(Path.GetDirectoryName(run.TopologyPath)!, ".strata");
        try
        {
            await CutsAsync(run, folder);
        }
        catch
        {
            foreach (var node in new[] { "db-1", "db-2" })
            {
                output.WriteLine($"--- {node}'s log");
                output.WriteLine(string.Join('\n', File.ReadLines(Path.Combine(folder, "logs", $"{node}.log")).Where(l => l.Contains("Replication", StringComparison.Ordinal) || l.Contains("Server", StringComparison.Ordinal)).TakeLast(20)));
            }

            throw;
        }
    }

    private async Task CutsAsync(NetnsTopology run, string folder)
    {
        using var sampler = new WritableSampler(folder);
        await WaitAsync(async () => await PrimaryAsync(run) == "db-1", "db-1 to be the primary");

        // Cut from each other only: both still reach app-1, the third voter, which keeps granting db-1 the lease.
        await CheckedAsync(run, "cut", "db-1", "--from", "db-2");
        await Task.Delay(TimeSpan.FromSeconds(6));
        Assert.Equal("db-1", await PrimaryAsync(run));
        Assert.Equal(HttpStatusCode.Created, await WriteAsync(run, "written while db-1 and db-2 cannot reach each other"));
        await CheckedAsync(run, "heal", "db-1");
        await WaitAsync(async () => await StateAsync(run, "db-2") is { } s && s["role"]?.GetValue<string>() == "replica" && s["lagSeconds"] is not null, "db-2 to follow again");
        // db-1 wrote alone while cut from db-2: until db-2 has caught up and db-1 is strict again, the voters rightly
        // give the lease to no other node, so the next step waits for that (slower on a loaded machine).
        await WaitAsync(async () => (await StateAsync(run, "db-1"))?["mode"]?.GetValue<string>() == "strict", "db-1 to be strict again");

        // Cut off from everyone: db-1 loses the lease and fences itself; db-2 (with app-1) takes over.
        await CheckedAsync(run, "cut", "db-1");
        await WaitAsync(async () => await PrimaryAsync(run) == "db-2", "db-2 to take over");
        Assert.Equal(HttpStatusCode.Created, await WriteAsync(run, "written on db-2 while db-1 is cut off"));
        await WaitAsync(() => Task.FromResult(sampler.ReadOnly("db-1") == true), "db-1, cut off, to be read-only");

        await CheckedAsync(run, "heal", "db-1");
        await WaitAsync(async () => (await StateAsync(run, "db-1"))?["following"]?.GetValue<string>() == "db-2", "db-1 to follow db-2");

        var both = sampler.Stop();
        output.WriteLine($"{sampler.Samples} samples of both servers' read_only; both writable in {both.Count}");
        Assert.True(sampler.Samples > 100, $"only {sampler.Samples} samples");
        Assert.True(both.Count == 0, $"both servers took writes at {string.Join(", ", both.Take(5))}");
    }

    private static async Task<string?> PrimaryAsync(NetnsTopology run)
    {
        foreach (var node in new[] { "db-1", "db-2" })
        {
            if ((await StateAsync(run, node))?["role"]?.GetValue<string>() == "primary")
            {
                return node;
            }
        }

        return null;
    }

    private static async Task<JsonObject?> StateAsync(NetnsTopology run, string node)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
        try
        {
            return await client.GetFromJsonAsync<JsonObject>($"http://{run.Subnet}.{(node == "db-1" ? 90 : 91)}:8081/db/state");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    private static async Task<HttpStatusCode?> WriteAsync(NetnsTopology run, string text)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        using var response = await client.PostAsJsonAsync($"http://{run.Vip}:8080/api/messages", new { author = "split", text });
        return response.StatusCode;
    }

    private static async Task CheckedAsync(NetnsTopology run, params string[] arguments)
    {
        var result = await run.CliAsync(arguments);
        Assert.True(result.ExitCode == 0, $"strata {string.Join(' ', arguments)}: {result.Output}{result.Error}");
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Settle;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"waited {Settle.TotalSeconds:0} s for {what}");
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// Both servers' @@read_only every 50 ms over their admin sockets (a Unix socket is a file, reachable from the
    /// host whatever the network cut): the moments both answered 0.
    /// </summary>
    private sealed class WritableSampler : IDisposable
    {
        private readonly string _folder;
        private readonly CancellationTokenSource _stop = new();
        private readonly List<DateTime> _both = [];
        private readonly Dictionary<string, bool?> _last = new() { ["db-1"] = null, ["db-2"] = null };
        private readonly Task _loop;

        public WritableSampler(string folder)
        {
            _folder = folder;
            _loop = Task.Run(LoopAsync);
        }

        public int Samples { get; private set; }

        public bool? ReadOnly(string node)
        {
            lock (_last)
            {
                return _last[node];
            }
        }

        public List<DateTime> Stop()
        {
            _stop.Cancel();
            _loop.Wait();
            return _both;
        }

        public void Dispose()
        {
            _stop.Cancel();
            _stop.Dispose();
        }

        private async Task LoopAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                var answers = await Task.WhenAll(new[] { "db-1", "db-2" }.Select(ReadOnlyAsync));
                lock (_last)
                {
                    (_last["db-1"], _last["db-2"]) = (answers[0], answers[1]);
                }

                Samples++;
                if (answers is [false, false])
                {
                    _both.Add(DateTime.UtcNow);
                }

                await Task.Delay(50, CancellationToken.None);
            }
        }

        private async Task<bool?> ReadOnlyAsync(string node)
        {
            try
            {
                await using var connection = new MySqlConnection(new MySqlConnectionStringBuilder
                {
                    Server = ManagedDatabase.SocketPath(Path.Combine(_folder, node)),
                    ConnectionProtocol = MySqlConnectionProtocol.UnixSocket,
                    UserID = Environment.UserName,
                    Pooling = false,
                    ConnectionTimeout = 1,
                }.ConnectionString);
                await connection.OpenAsync();
                await using var command = new MySqlCommand("SELECT @@read_only", connection);
                return Convert.ToInt32(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture) == 1;
            }
            catch (Exception ex) when (ex is MySqlException or InvalidOperationException or IOException)
            {
                return null; // not answering: restarting, or stopped
            }
        }
    }
}
