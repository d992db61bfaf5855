using Strata.Topology;

namespace Strata.Orchestration.Dashboard;

/// <summary>
/// The run the dashboard shows and acts on, through the orchestrator over the topology file as it is now: <c>scale</c>
/// rewrites it (from the page or from another terminal), so it is read again whenever it changed. A file that no longer
/// validates (someone is editing it) leaves the last good one in use, and says why.
/// </summary>
/// <param name="topologyPath">The topology file.</param>
/// <param name="create">An orchestrator over a topology, writing what it does to a writer.</param>
internal sealed class DashboardRun(string topologyPath, Func<Topology.Topology, TextWriter, Orchestrator> create)
{
    private readonly Lock _lock = new();
    private (DateTime Written, Topology.Topology Topology)? _loaded;

    /// <summary>The topology file.</summary>
    public string TopologyPath => topologyPath;

    /// <summary>Why the file as it is now is not in use, or null.</summary>
    public string? Problem { get; private set; }

    /// <summary>An orchestrator over the file as it is now, writing to <paramref name="output"/>.</summary>
    /// <exception cref="TopologyException">The file has never validated.</exception>
    public Orchestrator Orchestrator(TextWriter output) => create(Load(), output);

    private Topology.Topology Load()
    {
        lock (_lock)
        {
            var written = File.GetLastWriteTimeUtc(topologyPath);
            if (_loaded is { } loaded && loaded.Written == written)
            {
                return loaded.Topology;
            }

            try
            {
                var topology = TopologyLoader.Load(topologyPath);
                _loaded = (written, topology);
                Problem = null;
                return topology;
            }
            catch (Exception ex) when (ex is TopologyException or IOException && _loaded is { } last)
            {
                Problem = $"{Path.GetFileName(topologyPath)} as it is now is not valid ({(ex is TopologyException invalid ? string.Join("; ", invalid.Errors) : ex.Message)}): showing it as it was";
                return last.Topology;
            }
        }
    }
}
