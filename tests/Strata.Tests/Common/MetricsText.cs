using System.Globalization;
using System.Text.RegularExpressions;

namespace Strata.Tests.Common;

/// <summary>Prometheus's text format as a node's /metrics serves it, read just enough for tests.</summary>
internal static partial class MetricsText
{
    /// <summary>The samples: each series (name and labels as written) and its value.</summary>
    public static IReadOnlyList<(string Series, string Name, double Value)> Samples(string text) =>
        [.. text.Split('\n')
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l =>
            {
                var space = l.LastIndexOf(' ');
                var series = l[..space];
                var brace = series.IndexOf('{');
                return (series, brace < 0 ? series : series[..brace], double.Parse(l[(space + 1)..], CultureInfo.InvariantCulture));
            })];

    /// <summary>Asserts that every sample of <paramref name="text"/> carries <c>node</c> and <c>tier</c> with these values.</summary>
    public static void AssertEveryLabelled(string text, string node, string tier)
    {
        var samples = Samples(text);
        Assert.NotEmpty(samples);
        foreach (var (series, _, _) in samples)
        {
            Assert.True(
                series.Contains($"node=\"{node}\"", StringComparison.Ordinal) && series.Contains($"tier=\"{tier}\"", StringComparison.Ordinal),
                $"{series} lacks node=\"{node}\" and tier=\"{tier}\"");
        }
    }

    /// <summary>The value of the one sample whose series starts with <paramref name="prefix"/> (a name, or a name and its first labels).</summary>
    public static double Value(string text, string prefix) =>
        Assert.Single(Samples(text), s => s.Series.StartsWith(prefix, StringComparison.Ordinal)).Value;

    /// <summary>The metric names a PromQL expression reads (a dashboard's, a rule's), the histogram suffixes removed.</summary>
    public static IEnumerable<string> NamesIn(string expression) =>
        MetricName().Matches(expression).Select(m => HistogramSuffix().Replace(m.Value, ""));

    [GeneratedRegex(@"\b(strata|process)_[a-z_]+\b")]
    private static partial Regex MetricName();

    [GeneratedRegex("_(bucket|count|sum)$")]
    private static partial Regex HistogramSuffix();
}
