namespace Strata.Proxy.Stats;

/// <summary>
/// The recent rates of two counters that only grow (requests, and those that failed): samples taken once a second off
/// the request path, the last ten kept, and the growth from the oldest kept sample to the live values. HAProxy's stats
/// give a rate over the last second, counted on every request (its freq_ctr); a window of about ten seconds costs the
/// request path nothing and steadies a small load.
/// </summary>
internal sealed class RecentRates
{
    /// <summary>Samples kept, one a second: the window's length in seconds.</summary>
    public const int Samples = 10;

    private readonly (TimeSpan At, long Requests, long Failures)[] _samples = new (TimeSpan, long, long)[Samples];
    private readonly Lock _lock = new();
    private int _count;
    private int _next;

    /// <summary>Records the counters at <paramref name="at"/> (a monotonic time), replacing the oldest sample once the window is full.</summary>
    public void Sample(TimeSpan at, long requests, long failures)
    {
        lock (_lock)
        {
            _samples[_next] = (at, requests, failures);
            _next = (_next + 1) % Samples;
            _count = Math.Min(_count + 1, Samples);
        }
    }

    /// <summary>
    /// Per second, from the oldest sample to the live counters at <paramref name="now"/>; over at least a second, so a
    /// window just begun does not magnify its first requests. Zero before the first sample.
    /// </summary>
    public (double Requests, double Failures) PerSecond(TimeSpan now, long requests, long failures)
    {
        lock (_lock)
        {
            if (_count == 0)
            {
                return (0, 0);
            }

            var oldest = _samples[_count < Samples ? 0 : _next];
            var seconds = Math.Max((now - oldest.At).TotalSeconds, 1);
            return (Math.Max(0, requests - oldest.Requests) / seconds, Math.Max(0, failures - oldest.Failures) / seconds);
        }
    }
}
