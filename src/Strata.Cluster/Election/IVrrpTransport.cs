using System.Net;
using Strata.Cluster.Vrrp;

namespace Strata.Cluster.Election;

/// <summary>How advertisements travel between the members of one virtual router.</summary>
internal interface IVrrpTransport : IDisposable
{
    /// <summary>Packets received and dropped: invalid, or from an address that is not a member.</summary>
    long Dropped { get; }

    /// <summary>Sends <paramref name="advertisement"/> to every member.</summary>
    void Send(VrrpAdvertisement advertisement);

    /// <summary>The next valid advertisement and its sender; throws when the transport is disposed or cancelled.</summary>
    ValueTask<(VrrpAdvertisement Advertisement, IPAddress Source)> ReceiveAsync(CancellationToken cancellationToken);
}
