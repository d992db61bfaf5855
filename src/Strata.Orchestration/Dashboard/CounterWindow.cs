namespace Strata.Orchestration.Dashboard;

/// <summary>
/// Counters read once a second (a node's requests, a proxy's requests to one server, a histogram bucket), turned into
/// what happened over the last <paramref name="window"/>. A counter that goes down started again from zero (its node
/// restarted): what it counts since then is added, so a restart never shows as a negative rate.
/// </summary>
internal sealed class CounterWindow(TimeSpan window)
{
    private readonly Dictionary<string, Series> _series = new(StringComparer.Ordinal);

    /// <summary>Records <paramref name="key"/>'s value <paramref name="value"/> read at <paramref name="at"/>.</summary>
    public void Add(string key, double value, DateTimeOffset at)
    {
        if (!_series.TryGetValue(key, out var series))
        {
            // What it counted before it was first read is not part of any window.
            _series[key] = series = new Series { Last = value };
            series.Points.Add((at, 0));
            return;
        }

        series.Total += value >= series.Last ? value - series.Last : value;
        series.Last = value;
        series.Points.Add((at, series.Total));
        // One point at or before the window's start stays, as its base.
        while (series.Points.Count > 2 && series.Points[1].At <= at - window)
        {
            series.Points.RemoveAt(0);
        }
    }

    /// <summary>How much <paramref name="key"/> grew over the window up to <paramref name="now"/>; 0 when it was not read in it.</summary>
    public double Delta(string key, DateTimeOffset now) => Span(key, now) is { } span ? span.Delta : 0;

    /// <summary><see cref="Delta"/> per second.</summary>
    public double Rate(string key, DateTimeOffset now) =>
        Span(key, now) is { Seconds: > 0 } span ? span.Delta / span.Seconds : 0;

    /// <summary>Forgets counters not read for three windows (a node scaled away, a proxy stopped).</summary>
    public void Prune(DateTimeOffset now)
    {
        foreach (var (key, series) in _series)
        {
            if (series.Points[^1].At < now - (3 * window))
            {
                _series.Remove(key);
            }
        }
    }

    private (double Delta, double Seconds)? Span(string key, DateTimeOffset now)
    {
        if (!_series.TryGetValue(key, out var series) || series.Points[^1].At < now - window)
        {
            return null;
        }

        var (firstAt, first) = series.Points[0];
        var (lastAt, last) = series.Points[^1];
        return (last - first, (lastAt - firstAt).TotalSeconds);
    }

    private sealed class Series
    {
        public double Last { get; set; }

        public double Total { get; set; }

        public List<(DateTimeOffset At, double Total)> Points { get; } = [];
    }
}
