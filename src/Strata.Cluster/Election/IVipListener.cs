namespace Strata.Cluster.Election;

/// <summary>What the election controls: the node's listener on the virtual IP.</summary>
public interface IVipListener
{
    /// <summary>Starts listening on the VIP; false when another node holds it (address in use).</summary>
    Task<bool> TryAcquireAsync(CancellationToken cancellationToken);

    /// <summary>Whether it may start listening now: not while the node warms up (the election tries again on its next pass).</summary>
    bool IsReady => true;

    /// <summary>Stops listening on the VIP, letting in-flight requests finish.</summary>
    Task ReleaseAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Before the election starts: removes what an earlier life of this node left holding the VIP (an address
    /// on the interface after a SIGKILL). True when something was removed.
    /// </summary>
    Task<bool> RemoveLeftoverAsync(CancellationToken cancellationToken) => Task.FromResult(false);

    /// <summary>While held: tells the neighbours again where the VIP is (gratuitous ARP); nothing to do on loopback.</summary>
    void Announce()
    {
    }
}
