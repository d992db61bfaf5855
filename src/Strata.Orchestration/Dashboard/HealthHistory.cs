namespace Strata.Orchestration.Dashboard;

/// <summary>A node's state from a moment on (<see cref="DashboardState"/>'s node states).</summary>
/// <param name="At">When the dashboard first saw it.</param>
/// <param name="State">ready, starting, draining, maintenance or down.</param>
public sealed record HealthChange(DateTimeOffset At, string State);

/// <summary>
/// Each node's states over the last <paramref name="length"/>, as changes: what a node's panel draws. The state in
/// force at the start of the period is kept, so the period is covered from its start.
/// </summary>
internal sealed class HealthHistory(TimeSpan length)
{
    private readonly Dictionary<string, (List<HealthChange> Changes, DateTimeOffset Seen)> _nodes = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>How far back it goes.</summary>
    public TimeSpan Length => length;

    /// <summary>Records that <paramref name="node"/> was <paramref name="state"/> at <paramref name="at"/>.</summary>
    public void Record(string node, string state, DateTimeOffset at)
    {
        lock (_lock)
        {
            var changes = _nodes.TryGetValue(node, out var known) ? known.Changes : [];
            if (changes.Count == 0 || changes[^1].State != state)
            {
                changes.Add(new HealthChange(at, state));
            }

            _nodes[node] = (changes, at);
        }
    }

    /// <summary>Forgets what is older than the period, and the nodes not seen in it (scaled away).</summary>
    public void Prune(DateTimeOffset now)
    {
        var start = now - length;
        lock (_lock)
        {
            foreach (var (node, (changes, seen)) in _nodes)
            {
                if (seen < start)
                {
                    _nodes.Remove(node);
                    continue;
                }

                while (changes.Count > 1 && changes[1].At <= start)
                {
                    changes.RemoveAt(0);
                }
            }
        }
    }

    /// <summary><paramref name="node"/>'s changes, oldest first; empty for a node never seen.</summary>
    public IReadOnlyList<HealthChange> Of(string node)
    {
        lock (_lock)
        {
            return _nodes.TryGetValue(node, out var known) ? [.. known.Changes] : [];
        }
    }
}
