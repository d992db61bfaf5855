using System.Text.Json;
using System.Text.RegularExpressions;
using Strata.Tests.Common;
using Xunit.Abstractions;

namespace Strata.Tests.Export;

/// <summary>
/// docs/grafana/strata.json, the Grafana dashboard over what <c>strata export prometheus</c> collects: a valid JSON
/// model whose Prometheus is a variable, whose queries are valid PromQL (promtool) over series Strata exports, and whose
/// panels are the ones docs/observability.md names.
/// </summary>
public sealed partial class GrafanaDashboardTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string DashboardPath = Path.Combine(TestTopology.RepositoryRoot, "docs", "grafana", "strata.json");

    private readonly string _dir = Directory.CreateTempSubdirectory("strata-grafana-").FullName;
    private readonly JsonElement _dashboard = JsonDocument.Parse(File.ReadAllText(DashboardPath)).RootElement;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Dashboard_DatasourceIsAVariable_EveryPanelAndQueryUsesIt()
    {
        Assert.Equal("strata", _dashboard.GetProperty("uid").GetString());
        var datasource = Assert.Single(Variables(), v => v.GetProperty("name").GetString() == "datasource");
        Assert.Equal(("datasource", "prometheus"), (datasource.GetProperty("type").GetString(), datasource.GetProperty("query").GetString()));
        Assert.All(Panels(), panel =>
        {
            Assert.Equal("${datasource}", panel.GetProperty("datasource").GetProperty("uid").GetString());
            Assert.All(panel.GetProperty("targets").EnumerateArray(), t => Assert.Equal("${datasource}", t.GetProperty("datasource").GetProperty("uid").GetString()));
        });
        Assert.Equal(Panels().Count + Rows().Count, Panels().Concat(Rows()).Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
    }

    [Fact]
    public void Dashboard_EveryMetric_OneStrataExports()
    {
        // Every series name the source writes (prometheus-net's process_* aside).
        var exported = Directory.EnumerateFiles(Path.Combine(TestTopology.RepositoryRoot, "src"), "*.cs", SearchOption.AllDirectories)
            .SelectMany(f => MetricsText.NamesIn(File.ReadAllText(f)))
            .ToHashSet();

        var used = Expressions().SelectMany(MetricsText.NamesIn).Distinct().ToList();

        Assert.Contains("strata_http_requests_total", used);
        Assert.All(used.Where(n => n.StartsWith("strata_", StringComparison.Ordinal)), name => Assert.Contains(name, exported));
    }

    [SkippableFact]
    public async Task Dashboard_EveryQuery_ValidPromQl()
    {
        Requirements.CheckOrReport(ExportTools.Unavailable("promtool"), output);
        // The queries as recording rules, Grafana's variables given values: promtool parses every expression.
        var rules = new System.Text.StringBuilder("groups:\n  - name: strata-dashboard\n    rules:\n");
        var i = 0;
        foreach (var expression in Expressions())
        {
            var promql = expression.Replace("$__rate_interval", "1m", StringComparison.Ordinal).Replace("$tier", ".*", StringComparison.Ordinal).Replace("$node", ".*", StringComparison.Ordinal);
            rules.Append($"      - record: strata_dashboard_{i++}\n        expr: {JsonSerializer.Serialize(promql)}\n");
        }

        var path = Path.Combine(_dir, "dashboard.rules.yml");
        await File.WriteAllTextAsync(path, rules.ToString());

        var result = await ChildProcess.RunAsync(ExportTools.Find("promtool")!, ["check", "rules", path], TimeSpan.FromSeconds(30));

        Assert.True(result.ExitCode == 0, $"promtool refused a query ({result.ExitCode}): {result.Output}{result.Error}\n{rules}");
    }

    [Fact]
    public void Dashboard_Panels_TheOnesTheDocsName()
    {
        var docs = File.ReadAllText(Path.Combine(TestTopology.RepositoryRoot, "docs", "observability.md"));
        var documented = DocumentedPanel().Matches(docs).Select(m => m.Groups[1].Value).ToList();

        Assert.Equal(documented, Panels().Select(p => p.GetProperty("title").GetString()));
    }

    private List<JsonElement> Variables() => [.. _dashboard.GetProperty("templating").GetProperty("list").EnumerateArray()];

    private List<JsonElement> Panels() => [.. _dashboard.GetProperty("panels").EnumerateArray().Where(p => p.GetProperty("type").GetString() != "row")];

    private List<JsonElement> Rows() => [.. _dashboard.GetProperty("panels").EnumerateArray().Where(p => p.GetProperty("type").GetString() == "row")];

    private IEnumerable<string> Expressions() =>
        Panels().SelectMany(p => p.GetProperty("targets").EnumerateArray()).Select(t => t.GetProperty("expr").GetString()!);

    // The docs' panel table: "| **Requests/s** | ...".
    [GeneratedRegex(@"^\| \*\*(.+?)\*\* \|", RegexOptions.Multiline)]
    private static partial Regex DocumentedPanel();
}
