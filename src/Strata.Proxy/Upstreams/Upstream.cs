using Strata.Topology;

namespace Strata.Proxy.Upstreams;

/// <summary>One server of a pool, with its current health.</summary>
public sealed class Upstream
{
    private int _healthy;

    internal Upstream(NodeSpec node)
    {
        Node = node;
        DestinationPrefix = $"http://{node.Address}/";
    }

    /// <summary>The server.</summary>
    public NodeSpec Node { get; }

    /// <summary>Base address requests are forwarded to, e.g. http://127.0.2.1:8080/.</summary>
    public string DestinationPrefix { get; }

    /// <summary>Whether it takes traffic. A server starts down and is brought up by its first passing check.</summary>
    public bool IsHealthy => Volatile.Read(ref _healthy) == 1;

    /// <summary>Sets the health; true when that changed it, so that only one caller reports the change.</summary>
    /// <remarks>Written by the health checker and by passive failure detection; read on every request.</remarks>
    internal bool TrySetHealthy(bool healthy) => Interlocked.Exchange(ref _healthy, healthy ? 1 : 0) != (healthy ? 1 : 0);
}
