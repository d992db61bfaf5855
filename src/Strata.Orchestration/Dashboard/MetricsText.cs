using System.Globalization;

namespace Strata.Orchestration.Dashboard;

/// <summary>
/// The few series the dashboard reads from a node's <c>/metrics</c> (Prometheus text format 0.0.4), by name: a family's
/// samples summed over whatever labels they carry, since the nodes' label sets grow and a reader that matched them
/// exactly would break. Written by hand: prometheus-net only writes the format, and the dashboard needs sums.
/// </summary>
internal sealed class MetricsText
{
    private readonly List<Sample> _samples;

    private MetricsText(List<Sample> samples) => _samples = samples;

    /// <summary>One sample line: its name, its labels as written between the braces, its value.</summary>
    private readonly record struct Sample(string Name, string Labels, double Value);

    /// <summary>The samples of <paramref name="text"/>; comments and lines that are not samples are skipped.</summary>
    public static MetricsText Parse(string text)
    {
        var samples = new List<Sample>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var brace = line.IndexOf('{', StringComparison.Ordinal);
            var close = brace < 0 ? -1 : line.LastIndexOf('}');
            var nameEnd = brace >= 0 ? brace : line.IndexOf(' ', StringComparison.Ordinal);
            if (nameEnd <= 0 || (brace >= 0 && close < brace))
            {
                continue;
            }

            var rest = line[(brace >= 0 ? close + 1 : nameEnd)..].Trim().Split(' ');
            if (Number(rest[0]) is { } value)
            {
                samples.Add(new Sample(line[..nameEnd], brace >= 0 ? line[(brace + 1)..close] : "", value));
            }
        }

        return new MetricsText(samples);
    }

    /// <summary>
    /// Every sample of <paramref name="name"/> added up, or only those whose label <paramref name="label"/> is
    /// <paramref name="value"/>; null when the node has no such series.
    /// </summary>
    public double? Sum(string name, string? label = null, string? value = null)
    {
        double? sum = null;
        foreach (var sample in _samples)
        {
            if (sample.Name == name && (label is null || Label(sample.Labels, label) == value))
            {
                sum = (sum ?? 0) + sample.Value;
            }
        }

        return sum;
    }

    /// <summary>
    /// The histogram <paramref name="name"/>'s cumulative buckets, each bound's counts added up over the other labels,
    /// by bound (+Inf last); empty when the node has no such histogram.
    /// </summary>
    public IReadOnlyList<(double Bound, double Count)> Buckets(string name)
    {
        var buckets = new SortedDictionary<double, double>();
        var bucket = name + "_bucket";
        foreach (var sample in _samples)
        {
            if (sample.Name == bucket && Label(sample.Labels, "le") is { } le && Number(le) is { } bound)
            {
                buckets[bound] = buckets.GetValueOrDefault(bound) + sample.Value;
            }
        }

        return [.. buckets.Select(b => (b.Key, b.Value))];
    }

    /// <summary>
    /// The <paramref name="q"/>-quantile of cumulative bucket counts, interpolated inside its bucket as Prometheus's
    /// <c>histogram_quantile</c> does; null with no observation. Beyond the last finite bound it is that bound.
    /// </summary>
    public static double? Quantile(double q, IReadOnlyList<(double Bound, double Count)> buckets)
    {
        if (buckets.Count == 0 || buckets[^1].Count <= 0)
        {
            return null;
        }

        var rank = q * buckets[^1].Count;
        for (var i = 0; i < buckets.Count; i++)
        {
            var (bound, count) = buckets[i];
            if (count < rank)
            {
                continue;
            }

            var (lower, below) = i == 0 ? (0.0, 0.0) : buckets[i - 1];
            if (double.IsPositiveInfinity(bound))
            {
                return i == 0 ? null : lower;
            }

            return count == below ? bound : lower + ((bound - lower) * (rank - below) / (count - below));
        }

        return null;
    }

    /// <summary>The value of <paramref name="name"/> in a label set as written (<c>a="1",b="x\"y"</c>), or null.</summary>
    private static string? Label(string labels, string name)
    {
        var i = 0;
        while (i < labels.Length)
        {
            var equals = labels.IndexOf('=', i);
            if (equals < 0 || equals + 1 >= labels.Length || labels[equals + 1] != '"')
            {
                return null;
            }

            var key = labels[i..equals].Trim().TrimStart(',').Trim();
            var value = new System.Text.StringBuilder();
            var j = equals + 2;
            for (; j < labels.Length && labels[j] != '"'; j++)
            {
                // Escapes: \\, \" and \n.
                if (labels[j] == '\\' && j + 1 < labels.Length)
                {
                    j++;
                    value.Append(labels[j] == 'n' ? '\n' : labels[j]);
                }
                else
                {
                    value.Append(labels[j]);
                }
            }

            if (key == name)
            {
                return value.ToString();
            }

            i = j + 1;
        }

        return null;
    }

    private static double? Number(string text) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : null,
    };
}
