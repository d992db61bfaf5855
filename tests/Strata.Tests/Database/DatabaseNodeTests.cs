using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Strata.Data.Messages;
using Strata.Data;
using Strata.Database;
using Strata.Database.Server;
using Strata.Hosting.Processes;
using Strata.Tests.Common;
using Strata.Topology;
using Xunit.Abstractions;

namespace Strata.Tests.Database;

/// <summary>
/// The database node in this process, running a real MariaDB (mariadb-server is installed by run-tests) in a
/// temporary run folder on free loopback ports: first start, the application's account, durability across a
/// restart, the clean stop.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DatabaseNodeTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("strata-dbnode-").FullName;
    private readonly HttpClient _client = new() { Timeout = TimeSpan.FromSeconds(10) };

    public void Dispose()
    {
        _client.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [SkippableFact]
    public async Task FirstStart_CreatesTheServer_TheAppAccountWorks_AndARestartKeepsTheData()
    {
        MariaDbRequirement.Check(output);
        var topology = Topology();
        var database = topology.Database;

        long id;
        int serverPid;
        await using (var node = await StartAsync(topology))
        {
            var ready = await _client.GetFromJsonAsync<JsonObject>(new Uri($"http://{database.Nodes[0].Management}/readyz"));
            Assert.True(ready!["ready"]!.GetValue<bool>(), ready.ToJsonString());
            Assert.Equal("db", ready["role"]!.GetValue<string>());
            var folder = ManagedDatabase.NodeFolder(database, database.Nodes[0].Name);
            Assert.True(Directory.Exists(Path.Combine(folder, "data", "mysql")));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(database.Path, "password")));

            // The app nodes' way in: the account over TCP, with the password from the file.
            var store = MessageStores.Create(database);
            await store.InitializeAsync(CancellationToken.None);
            id = (await store.AddAsync("ada", "kept across a restart", CancellationToken.None)).Id;
            serverPid = int.Parse(File.ReadAllText(Path.Combine(folder, "mariadbd.pid")).Trim());
            Assert.True(IsAlive(serverPid), "mariadbd should run while the node does");
            await node.StopAsync();
        }

        // A clean stop: the server is gone, and the address is free again.
        Assert.False(IsAlive(serverPid), $"mariadbd (pid {serverPid}) still runs after the node stopped");
        MySqlConnector.MySqlConnection.ClearAllPools();

        await using (var again = await StartAsync(topology))
        {
            var store = MessageStores.Create(database);
            var message = await store.FindAsync(id, CancellationToken.None);
            Assert.Equal("kept across a restart", message?.Text);
            await again.StopAsync();
        }
    }

    [SkippableFact]
    public async Task Metrics_TheServersConnectionsAndQueries_LabelledWithNodeAndTier()
    {
        MariaDbRequirement.Check(output);
        var topology = Topology();
        var metrics = new Uri($"http://{topology.Database.Nodes[0].Management}/metrics");
        await using var node = await StartAsync(topology);
        var store = MessageStores.Create(topology.Database);
        await store.InitializeAsync(CancellationToken.None);
        var before = MetricsText.Value(await _client.GetStringAsync(metrics), "strata_db_queries_total");

        await store.AddAsync("ada", "counted", CancellationToken.None);
        var text = await _client.GetStringAsync(metrics);

        MetricsText.AssertEveryLabelled(text, topology.Database.Nodes[0].Name, "db");
        Assert.Equal(1, MetricsText.Value(text, "strata_db_up"));
        // The scrape's own connection at least.
        Assert.True(MetricsText.Value(text, "strata_db_connections{") >= 1, text);
        Assert.True(MetricsText.Value(text, "strata_db_max_connections") > 0, text);
        Assert.True(MetricsText.Value(text, "strata_db_queries_total") > before, text);
        await node.StopAsync();
    }

    [SkippableFact]
    public async Task Start_AddressTaken_FailsWithTheServersReason()
    {
        MariaDbRequirement.Check(output);
        var topology = Topology();
        using var squatter = new System.Net.Sockets.TcpListener(topology.Database.Nodes[0].Address);
        squatter.Start();

        var error = await Assert.ThrowsAsync<DatabaseServerException>(async () =>
        {
            await using var node = DatabaseNode.Build(topology, topology.Database.Nodes[0]);
            await node.StartAsync();
        });

        Assert.Contains("mariadbd exited", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Locate_NotInstalled_NamesTheDebianPackage()
    {
        var error = Assert.Throws<DatabaseServerException>(() => MariaDbInstallation.Locate([_dir]));

        Assert.Contains("apt-get install mariadb-server", error.Message, StringComparison.Ordinal);
    }

    private Strata.Topology.Topology Topology()
    {
        var server = new NodeSpec(
            "db-1",
            NodeRole.Database,
            new IPEndPoint(IPAddress.Loopback, FreePorts.Tcp()),
            new IPEndPoint(IPAddress.Loopback, FreePorts.Tcp()));
        var sourcePath = Path.Combine(_dir, "strata.json");
        return TestTopology.Create() with { SourcePath = sourcePath, Database = ManagedDatabase.Spec(sourcePath, [server]) };
    }

    private static async Task<WebApplication> StartAsync(Strata.Topology.Topology topology)
    {
        var node = DatabaseNode.Build(topology, topology.Database.Nodes[0]);
        try
        {
            await node.StartAsync();
            return node;
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            // A killed child of a dead parent may linger as a zombie until init reaps it: that is not running.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].FirstOrDefault() is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }
}
