using System.Text.Json.Nodes;
using Strata.Orchestration.Drill;
using Strata.Tests.Common;
using Xunit.Abstractions;

namespace Strata.Tests.EndToEnd;

/// <summary>
/// <c>strata drill</c> against the real topology (<c>strata up --detach</c> on a copy with other ports): 20 s of kills of
/// load balancers, web and app nodes under load through the VIP, then the report read back from its JSON file.
/// </summary>
public sealed class DrillEndToEndTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly EndToEndRun _run = EndToEndRun.Create();

    public Task InitializeAsync() => _run.StrataAsync(TimeSpan.FromSeconds(120), "up", "--detach");

    public Task DisposeAsync() => _run.DisposeAsync().AsTask();

    [Fact]
    public async Task Drill_LoadBalancersWebAndAppKilledUnderLoad_NoAcknowledgedWriteLostEveryVictimBackInService()
    {
        var reports = Path.Combine(_run.Directory, "drill-reports");

        var result = await StrataCli.RunAsync(TimeSpan.FromSeconds(120), "drill", "--duration", "20", "--seed", "1", "--tiers", "lb,web,app", "-o", reports, "-f", _run.TopologyPath);
        output.WriteLine(result.Output + result.Error);

        Assert.Contains("drill: seed 1 ", result.Output);
        var report = JsonNode.Parse(File.ReadAllText(Assert.Single(Directory.GetFiles(reports, "drill-*-seed1.json"))))!;
        Assert.Equal(report["result"]!["exitCode"]!.GetValue<int>(), result.ExitCode);
        Assert.Equal(["lb", "web", "app"], report["tiers"]!.AsArray().Select(t => t!.GetValue<string>()));

        // Writes were acknowledged under the drill, and every one of them was read back.
        var writes = report["writes"]!;
        Assert.True(writes["verified"]!.GetValue<bool>(), writes["problem"]?.GetValue<string>());
        Assert.True(writes["acknowledged"]!.GetValue<int>() > 0, "no write was acknowledged");
        Assert.Equal(writes["acknowledged"]!.GetValue<int>(), writes["present"]!.GetValue<int>());
        Assert.Equal(0, writes["missing"]!.GetValue<int>());

        // Events happened, each restarted and back in service, on the victims seed 1 chooses for this topology.
        var events = report["events"]!.AsArray();
        Assert.NotEmpty(events);
        Assert.All(events, e => Assert.True(
            e!["restored"]!.GetValue<bool>() && e["backInService"]!.GetValue<bool>(),
            $"event #{e["number"]} on {e["node"]}: {e["problem"]}"));
        var plan = new DrillPlan([("lb", ["lb-1", "lb-2"]), ("web", ["web-1", "web-2"]), ("app", ["app-1", "app-2"])], cuts: false, seed: 1);
        Assert.Equal(events.Select(_ => plan.Next().Node), events.Select(e => e!["node"]!.GetValue<string>()));

        // Every failed GET was one lost with the killed VIP holder: the proxies retried the rest.
        var requests = report["requests"]!;
        Assert.True(requests["reads"]!.GetValue<int>() > 100, $"only {requests["reads"]} GETs");
        Assert.True(requests["unexpectedReads"]!.GetValue<int>() == 0, $"unexpected GET failures: {requests}");
        Assert.Contains("result: ", File.ReadAllText(Assert.Single(Directory.GetFiles(reports, "drill-*-seed1.txt"))));

        // The drill leaves the topology as it found it.
        var status = await _run.StatusAsync();
        Assert.All(status["nodes"]!.AsArray(), n => Assert.Equal("ready", n!["state"]!.GetValue<string>()));
    }
}
