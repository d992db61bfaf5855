using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Strata.Hosting.Processes;
using Strata.Tests.Common;

namespace Strata.Tests.Cli;

/// <summary>The executable's usage errors: exit code 2, one clear line, nothing started.</summary>
public sealed class CommandLineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("strata-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Up_BadTopology_OneLineNamingTheFieldExit2NothingStarted()
    {
        var path = WriteTopology(root => root["web"]!["nodes"]![1]!["address"] = "127.0.2.1:8080");

        var result = await StrataCli.RunAsync("up", "--detach", "-f", path);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"strata: {path}: web.nodes[1].address: '127.0.2.1:8080' is already used by web-1", result.Error.TrimEnd());
        Assert.Equal("", result.Output);
        Assert.False(Directory.Exists(Path.Combine(_dir, ".strata")), "a run folder was created for a topology that was refused");
    }

    [Fact]
    public async Task Up_AddressTaken_Exit1NamingItNothingStarted()
    {
        var port = FreePorts.Tcp(IPAddress.Parse("127.0.2.1"));
        var path = WriteTopology(root => root["web"]!["nodes"]![0]!["address"] = $"127.0.2.1:{port}");
        using var squatter = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        squatter.Bind(new IPEndPoint(IPAddress.Parse("127.0.2.1"), port));
        squatter.Listen();

        var result = await StrataCli.RunAsync("up", "--detach", "-f", path);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"strata: address already in use, nothing started: web-1 127.0.2.1:{port}", result.Error);
        Assert.False(File.Exists(Path.Combine(_dir, ".strata", "run.json")), "a run was recorded although nothing started");
    }

    [Fact]
    public async Task Up_DashboardNotOnLoopback_Exit2NothingStarted()
    {
        var path = WriteTopology(_ => { });

        var result = await StrataCli.RunAsync("up", "--detach", "--dashboard", "0.0.0.0:8099", "-f", path);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("strata: '0.0.0.0:8099' is not a loopback HOST:PORT (e.g. 127.0.0.1:8099): the dashboard is never served beyond this machine", result.Error.TrimEnd());
        Assert.False(Directory.Exists(Path.Combine(_dir, ".strata")), "a run folder was created although up was refused");
    }

    [Fact]
    public async Task Kill_UnknownNode_Exit2ListingTheNodes()
    {
        var path = WriteTopology(_ => { });

        var result = await StrataCli.RunAsync("kill", "web-9", "-f", path);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("strata: no node named 'web-9'; the nodes are: dns, lb-1, lb-2, web-1, web-2, app-1, app-2", result.Error.TrimEnd());
    }

    [Fact]
    public async Task RoleCommand_NodeOfAnotherRole_Exit2()
    {
        var path = WriteTopology(_ => { });

        var result = await StrataCli.RunAsync("lb", "web-1", "-f", path);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("strata: 'web-1' is not a load balancer of this topology; those are: lb-1, lb-2", result.Error.TrimEnd());
    }

    [Theory]
    [InlineData("up", "--bogus")]
    [InlineData("frobnicate")]
    [InlineData("up", "--db", "oracle")]
    public async Task Parse_BadArguments_Exit2(params string[] arguments)
    {
        var result = await StrataCli.RunAsync(arguments);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("strata: ", result.Error);
    }

    [Fact]
    public async Task Drill_NothingRunning_Exit2SayingSo()
    {
        var path = WriteTopology(_ => { });

        var result = await StrataCli.RunAsync("drill", "--duration", "10", "-f", path);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("strata: not running: a drill strikes a running topology; start it with 'strata up --detach' first", result.Error.TrimEnd());
        Assert.False(Directory.Exists(Path.Combine(_dir, ".strata")), "a refused drill wrote a report");
    }

    [Theory]
    [InlineData("db", "strata: --tiers db: this topology has no database server that Strata runs (database.nodes, 'strata up --db mysql'); a database outside the topology is not the drill's to kill")]
    [InlineData("lb,dns", "strata: --tiers: dns is not a drill tier (the load goes to the VIP's address, not through DNS); the tiers: lb, web, app, db")]
    [InlineData("web,cache", "strata: --tiers: 'cache' is not a tier; the tiers: lb, web, app, db")]
    public async Task Drill_TierItCannotStrike_Exit2NamingIt(string tiers, string expected)
    {
        var path = WriteTopology(_ => { });

        var result = await StrataCli.RunAsync("drill", "--tiers", tiers, "-f", path);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(expected, result.Error.TrimEnd());
    }

    [Fact]
    public async Task Status_NothingRunning_EveryNodeDown()
    {
        var path = WriteTopology(_ => { });

        var result = await StrataCli.RunAsync("status", "--json", "-f", path);

        Assert.Equal(0, result.ExitCode);
        var status = JsonNode.Parse(result.Output)!;
        Assert.False(status["running"]!.GetValue<bool>());
        Assert.Null(status["vip"]!["owner"]);
        Assert.All(status["nodes"]!.AsArray(), n => Assert.Equal("down", n!["state"]!.GetValue<string>()));
    }

    private string WriteTopology(Action<JsonObject> change)
    {
        var root = TestTopology.DefaultJson();
        change(root);
        return TestTopology.Write(root, _dir);
    }
}
