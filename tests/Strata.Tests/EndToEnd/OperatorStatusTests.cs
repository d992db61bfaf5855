using System.Text.Json.Nodes;
using Strata.Tests.Common;

namespace Strata.Tests.EndToEnd;

/// <summary>
/// What an operator reads of the running seed topology: <c>status</c> with each node's admin state as the proxies in
/// front see it, its uptime, requests per second and error rate; <c>logs NODE</c>, its last lines or following it.
/// Each test puts back what it changed (a drained node is made ready again) for the other tests sharing the topology.
/// </summary>
[Collection(SeedTopology.Collection)]
public sealed class OperatorStatusTests(SeedTopology topology)
{
    private EndToEndRun Run => topology.Run;

    [Fact]
    public async Task Status_DrainThenReady_DrainingThenReadyWithUptimeRequestRateAndErrorRate()
    {
        // A small load through the VIP, to every web node (round robin).
        for (var i = 0; i < 40; i++)
        {
            using var response = await Run.GetAsync(i % 2 == 0 ? "/static/site.css" : "/api/messages?limit=1");
            Assert.True(response.IsSuccessStatusCode, $"{response.StatusCode}");
        }

        var status = await Run.StatusAsync();
        foreach (var node in status["nodes"]!.AsArray())
        {
            var name = node!["name"]!.GetValue<string>();
            Assert.InRange(node["uptimeSeconds"]!.GetValue<long>(), 0, 3600);
            if (name == "dns")
            {
                Assert.Null(node["requestsPerSecond"]);
                Assert.Null(node["errorRate"]);
                continue;
            }

            // Every web and app node took part of the load; the load balancer holding the VIP answered all of it.
            Assert.True(
                name == status["vip"]!["owner"]!.GetValue<string>() || name.StartsWith("web-", StringComparison.Ordinal) || name.StartsWith("app-", StringComparison.Ordinal)
                    ? node["requestsPerSecond"]!.GetValue<double>() > 0
                    : node["requestsPerSecond"]!.GetValue<double>() >= 0,
                node.ToJsonString());
            Assert.InRange(node["errorRate"]!.GetValue<double>(), 0, 1);
        }

        try
        {
            await Run.StrataAsync("drain", "web-1");
            status = await Run.StatusAsync();
            Assert.Equal("draining", EndToEndRun.State(status, "web-1"));
            Assert.Equal("ready", EndToEndRun.State(status, "web-2"));
            Assert.Equal(new Dictionary<string, string> { ["lb-1"] = "DRAIN", ["lb-2"] = "DRAIN" }, SeenBy(status, "web-1"));
            Assert.Matches(@"(?m)^web-1 +web +\S+ +draining ", (await Run.StrataAsync("status")).Output);
        }
        finally
        {
            await Run.StrataAsync("ready", "web-1");
        }

        status = await Run.StatusAsync();
        Assert.Equal("ready", EndToEndRun.State(status, "web-1"));
        Assert.Equal(new Dictionary<string, string> { ["lb-1"] = "UP", ["lb-2"] = "UP" }, SeenBy(status, "web-1"));
    }

    [Fact]
    public async Task Logs_LastLinesThenFollow_PrintsThemAndALineWrittenLater()
    {
        var log = Path.Combine(Run.Directory, ".strata", "logs", "lb-2.log");

        var last = await StrataCli.RunAsync("logs", "lb-2", "-n", "5", "--file", Run.TopologyPath);

        Assert.True(last.ExitCode == 0, last.Error);
        var lines = last.Output.TrimEnd('\n').Split('\n');
        Assert.Equal(5, lines.Length);
        Assert.Contains(string.Join('\n', lines) + "\n", File.ReadAllText(log));

        var unknown = await StrataCli.RunAsync("logs", "web-9", "--file", Run.TopologyPath);
        Assert.Equal(2, unknown.ExitCode);
        Assert.StartsWith("strata: no node named 'web-9'", unknown.Error);

        // -f: the last line first (so the follower is known to run), then what lb-2 logs when told to drain web-2.
        await using var follow = StrataCli.Start("logs", "lb-2", "-f", "-n", "1", "--file", Run.TopologyPath);
        Assert.True(await Eventually.TrueAsync(() => Task.FromResult(follow.Log.Length > 0), TimeSpan.FromSeconds(30)), "logs -f printed nothing");
        try
        {
            await Run.StrataAsync("drain", "web-2");
            Assert.True(
                await Eventually.TrueAsync(() => Task.FromResult(follow.Log.Contains("web-2 set to DRAIN by admin API")), TimeSpan.FromSeconds(10)),
                follow.Log);
        }
        finally
        {
            await Run.StrataAsync("ready", "web-2");
        }

        Assert.False(follow.HasExited, "logs -f ended by itself");
    }

    private static Dictionary<string, string> SeenBy(JsonNode status, string node) =>
        status["nodes"]!.AsArray().Single(n => n!["name"]!.GetValue<string>() == node)!["seenBy"]!.AsObject()
            .ToDictionary(p => p.Key, p => p.Value!.GetValue<string>());
}
