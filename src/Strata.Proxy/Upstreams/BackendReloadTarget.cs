using Strata.Hosting;
using Strata.Topology;

namespace Strata.Proxy.Upstreams;

/// <summary>Applies a reloaded topology's servers and settings for one backend to its pool.</summary>
internal sealed class BackendReloadTarget(UpstreamPool pool, Func<Topology.Topology, BackendSelection> select) : ITopologyReloadTarget
{
    public void Apply(Topology.Topology topology)
    {
        var (nodes, backend) = select(topology);
        pool.Apply(nodes, backend);
    }
}

/// <summary>The servers of a backend and how they are treated, taken from a topology.</summary>
/// <param name="Nodes">The servers.</param>
/// <param name="Backend">The settings.</param>
public sealed record BackendSelection(IEnumerable<NodeSpec> Nodes, BackendSpec Backend);
