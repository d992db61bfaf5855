using Strata.Tests.Common;

namespace Strata.Tests.Cli;

/// <summary>Usage errors of drain, ready and maint: exit 2 before anything is asked of a node.</summary>
public sealed class AdminCommandsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("strata-cli-admin-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Drain_DnsNode_Exit2NotABackendServer()
    {
        var path = TestTopology.Write(TestTopology.DefaultJson(), _dir);

        var result = await StrataCli.RunAsync("drain", "dns", "-f", path);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("strata: 'dns' is not a backend server: drain takes a web or app node: web-1, web-2, app-1, app-2", result.Error.TrimEnd());
        Assert.Equal("", result.Output);
    }

    [Theory]
    [InlineData("maint", "lb-1", "strata: 'lb-1' is not a backend server: maint takes a web or app node: web-1, web-2, app-1, app-2")]
    [InlineData("ready", "web-9", "strata: no node named 'web-9': ready takes a web or app node: web-1, web-2, app-1, app-2")]
    public async Task AdminCommand_NotABackendServer_Exit2(string command, string node, string error)
    {
        var path = TestTopology.Write(TestTopology.DefaultJson(), _dir);

        var result = await StrataCli.RunAsync(command, node, "-f", path);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(error, result.Error.TrimEnd());
    }

    [Fact]
    public async Task Drain_TopologyNotRunning_Exit1NoToken()
    {
        var path = TestTopology.Write(TestTopology.DefaultJson(), _dir);

        var result = await StrataCli.RunAsync("drain", "web-2", "-f", path);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("strata: no admin token", result.Error);
    }
}
