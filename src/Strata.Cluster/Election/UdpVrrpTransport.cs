using System.Net;
using System.Net.Sockets;
using Strata.Cluster.Vrrp;

namespace Strata.Cluster.Election;

/// <summary>
/// VRRP advertisements as UDP datagrams between the load balancers' own addresses: loopback needs no root and has
/// no link to multicast on, so each advert is sent to every configured peer, and one from any other address is
/// dropped and counted (unicast peers with a source check, as keepalived's unicast_peer).
/// </summary>
internal sealed class UdpVrrpTransport : IVrrpTransport
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly IPEndPoint _local;
    private readonly IReadOnlyList<IPEndPoint> _peers;
    private readonly Action<IPAddress> _firstForeign;
    private readonly byte[] _sendBuffer = new byte[VrrpAdvertisement.HeaderLength + (4 * 255)];
    private readonly byte[] _receiveBuffer = new byte[1500];
    private long _dropped;

    /// <summary>Binds <paramref name="local"/>; <paramref name="firstForeign"/> is told of the first advert from a stranger.</summary>
    public UdpVrrpTransport(IPEndPoint local, IReadOnlyList<IPEndPoint> peers, Action<IPAddress> firstForeign)
    {
        _local = local;
        _peers = peers;
        _firstForeign = firstForeign;
        try
        {
            _socket.Bind(local);
        }
        catch (SocketException ex)
        {
            _socket.Dispose();
            throw new IOException($"cannot listen for VRRP advertisements on {local} (UDP): {ex.Message}", ex);
        }
    }

    public long Dropped => Interlocked.Read(ref _dropped);

    public void Send(VrrpAdvertisement advertisement)
    {
        var length = advertisement.Write(_sendBuffer, _local.Address);
        foreach (var peer in _peers)
        {
            try
            {
                _socket.SendTo(_sendBuffer.AsSpan(0, length), SocketFlags.None, peer);
            }
            catch (SocketException)
            {
                // A peer that is not there yet: the next advert goes out in one interval.
            }
        }
    }

    public async ValueTask<(VrrpAdvertisement Advertisement, IPAddress Source)> ReceiveAsync(CancellationToken cancellationToken)
    {
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (true)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _socket.ReceiveFromAsync(_receiveBuffer, SocketFlags.None, any, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException) when (!cancellationToken.IsCancellationRequested)
            {
                // ICMP port unreachable from a peer not yet listening surfaces here: not ours to act on.
                continue;
            }

            var source = ((IPEndPoint)received.RemoteEndPoint).Address;
            if (!IsPeer(source))
            {
                if (Interlocked.Increment(ref _dropped) == 1)
                {
                    _firstForeign(source);
                }

                continue;
            }

            if (VrrpAdvertisement.TryParse(_receiveBuffer.AsSpan(0, received.ReceivedBytes), source, VrrpAdvertisement.MulticastGroup, out var advertisement, out _))
            {
                return (advertisement, source);
            }

            Interlocked.Increment(ref _dropped);
        }
    }

    public void Dispose() => _socket.Dispose();

    private bool IsPeer(IPAddress source)
    {
        foreach (var peer in _peers)
        {
            if (peer.Address.Equals(source))
            {
                return true;
            }
        }

        return false;
    }
}
