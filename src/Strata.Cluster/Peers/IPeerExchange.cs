using System.Net;

namespace Strata.Cluster.Peers;

/// <summary>
/// State the load balancers keep in step over their cluster connections (<see cref="PeerWatch"/>), as HAProxy's
/// <c>peers</c> section does for its stick tables: each node pushes what changed to every peer a few times a second,
/// and everything it holds to a peer that has just connected.
/// </summary>
public interface IPeerExchange
{
    /// <summary>The messages to send every peer now (what changed since the last call), or none.</summary>
    IReadOnlyList<byte[]> Changes();

    /// <summary>The messages that bring a peer that has just connected up to date.</summary>
    IReadOnlyList<byte[]> Everything();

    /// <summary>A message from the peer at <paramref name="peer"/>.</summary>
    void Received(IPAddress peer, ReadOnlySpan<byte> message);
}
