using System.Text.Json.Nodes;
using Strata.Tests.Common;
using Xunit.Abstractions;

namespace Strata.Tests.Bench;

/// <summary>
/// The benchmark harness's wiring, on a tiny run (<c>bench/compare.py --tiny</c>: 16 connections, 1 s, one round):
/// every scenario starts both stacks from one topology and measures each. It asserts that the wiring works (both
/// stacks answered every run, without errors, and were measured), never how fast: speed is the harness's own
/// business (docs/benchmarks.md).
/// </summary>
public sealed class CompareHarnessTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _out = Directory.CreateTempSubdirectory("strata-compare-").FullName;

    public void Dispose() => Directory.Delete(_out, recursive: true);

    [SkippableFact]
    public async Task TinyRun_EveryScenario_MeasuresBothStacks()
    {
        var missing = new[] { "wrk", "haproxy", "nginx", "taskset", "h2load", "openssl" }.Where(tool => ChildProcess.FindOnPath(tool) is null && !File.Exists($"/usr/sbin/{tool}")).ToList();
        Requirements.CheckOrReport(missing.Count == 0 ? null : $"the harness needs {string.Join(", ", missing)} (./run-tests installs them as root)", output);

        var strata = $"{Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? ChildProcess.FindOnPath("dotnet")} {Path.Combine(AppContext.BaseDirectory, "Strata.dll")}";
        var run = await ChildProcess.RunAsync(
            "python3",
            [Path.Combine(TestTopology.RepositoryRoot, "bench", "compare.py"), "--tiny", "--strata", strata, "--out", _out],
            TimeSpan.FromMinutes(5));
        output.WriteLine(run.Output);
        output.WriteLine(run.Error);
        Assert.True(run.ExitCode == 0, $"compare.py failed ({run.ExitCode}): {run.Error}");

        var report = JsonNode.Parse(File.ReadAllText(Directory.GetFiles(_out, "compare-*.json").Single()))!;
        var runs = report["runs"]!.AsArray();
        foreach (var scenario in new[] { "lb", "static", "chain-static", "chain-dynamic", "https-ecdsa", "https-rsa", "seed", "app" })
        {
            foreach (var stack in new[] { "strata", "classic" })
            {
                var mine = runs.Where(r => r!["scenario"]!.GetValue<string>() == scenario && r["stack"]!.GetValue<string>() == stack).ToList();
                Assert.True(mine.Count > 0, $"no {stack} run for {scenario}");
                Assert.All(mine, r =>
                {
                    Assert.True(r!["requests"]!.GetValue<int>() > 0, $"{scenario} {stack} {r["url"]}: no request answered");
                    Assert.True(r["errors"]!.GetValue<int>() == 0, $"{scenario} {stack} {r["url"]}: {r["errors"]} errors: {r["raw"]}");
                    Assert.True(r["cpuSeconds"]!.AsObject().Count > 0 && r["peakRssMiB"]!.AsObject().All(p => p.Value!.GetValue<double>() > 0));
                });
            }
        }

        Assert.All(report["summary"]!.AsArray(), row =>
        {
            Assert.True(row!["strataCpuUsPerRequest"]!.GetValue<double>() > 0, $"{row["scenario"]} {row["path"]}: no Strata CPU per request");
            Assert.True(row["classicCpuUsPerRequest"]!.GetValue<double>() > 0, $"{row["scenario"]} {row["path"]}: no classic CPU per request");
            Assert.True(row["strataRps"]!.GetValue<double>() > 0 && row["classicRps"]!.GetValue<double>() > 0, $"{row["scenario"]} {row["path"]}: no requests/s");
            Assert.True(row["strataPeakRssMiB"]!.AsObject().Count > 0 && row["classicPeakRssMiB"]!.AsObject().Count > 0, $"{row["scenario"]} {row["path"]}: no per-node RSS");
        });

        // The seed: every node of each stack measured on its own (lb-1, lb-2, web-1, web-2; HAProxy and one nginx per web node).
        var seed = report["summary"]!.AsArray().Single(r => r!["scenario"]!.GetValue<string>() == "seed")!;
        Assert.Equal(["strata-web-1", "strata-web-2", "strata-lb-1", "strata-lb-2"], seed["strataPeakRssMiB"]!.AsObject().Select(p => p.Key));
        Assert.Equal(["nginx-web-1", "nginx-web-2", "haproxy"], seed["classicPeakRssMiB"]!.AsObject().Select(p => p.Key));

        // Warm start and take-over: a row per probe and stack, answered in the first and the steady seconds.
        var warm = report["warm"]!["summary"]!.AsArray();
        foreach (var probe in new[] { "web start", "lb start", "lb takeover" })
        {
            foreach (var stack in new[] { "strata", "classic" })
            {
                var row = warm.SingleOrDefault(r => r!["probe"]!.GetValue<string>() == probe && r["stack"]!.GetValue<string>() == stack);
                Assert.True(row is not null, $"no warm row for {probe} {stack}");
                Assert.True(row!["rps"]!.AsArray().Sum(v => v?.GetValue<double>() ?? 0) + row["steadyRps"]!.GetValue<double>() > 0, $"warm {probe} {stack}: nothing answered");
                Assert.True(row["steadyRps"]!.GetValue<double>() > 0, $"warm {probe} {stack}: no steady requests/s");
                Assert.True(row["peakRssMiB"]!.AsObject().Count > 0 && row["peakRssMiB"]!.AsObject().All(p => p.Value!.GetValue<double>() > 0), $"warm {probe} {stack}: no per-node RSS");
                Assert.True(row["errors"]!.GetValue<int>() == 0, $"warm {probe} {stack}: {row["errors"]} errors");
            }
        }
        Assert.Contains("| scenario |", File.ReadAllText(Directory.GetFiles(_out, "compare-*.md").Single()), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Failover_InTinyRun_RefusedAsAUsageError()
    {
        // The failover drills need root and minutes: never part of the suite's wiring check.
        var run = await ChildProcess.RunAsync(
            "python3",
            [Path.Combine(TestTopology.RepositoryRoot, "bench", "compare.py"), "--tiny", "--scenarios", "lb,failover", "--out", _out],
            TimeSpan.FromMinutes(1));

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("failover has no tiny form", run.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_out));
    }
}
