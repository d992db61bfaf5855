namespace Strata.Cluster.Election;

/// <summary>What the election controls: the node's listener on the virtual IP.</summary>
public interface IVipListener
{
    /// <summary>Starts listening on the VIP; false when another node holds it (address in use).</summary>
    Task<bool> TryAcquireAsync(CancellationToken cancellationToken);

    /// <summary>Stops listening on the VIP, letting in-flight requests finish.</summary>
    Task ReleaseAsync(CancellationToken cancellationToken);
}
