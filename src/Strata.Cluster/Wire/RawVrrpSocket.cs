// Why this file exists: VRRPv3 (RFC 5798) runs directly on IP protocol 112, multicast to 224.0.0.18 with TTL 255.
// The loopback election (Election/VrrpElection.cs) carries adverts over UDP, which real VRRP routers such as
// keepalived neither send nor hear. To interoperate on a real link we need a raw IPv4 socket for protocol 112.
// On .NET 10 `new Socket(InterNetwork, Raw, (ProtocolType)112)` throws "Protocol not supported" (FINDINGS.md),
// so the socket is made with libc socket(2) and wrapped in a SafeSocketHandle. Needs root (CAP_NET_RAW).
// The receive socket joins the group on one interface and is bound to that device, never to a unicast address
// (that would filter the multicast out); what it receives includes the IP header, which we check (TTL 255,
// protocol, checksum over the pseudo-header) with VrrpAdvertisement.TryParseIpPacket.
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Strata.Cluster.Election;
using Strata.Cluster.Vrrp;

namespace Strata.Cluster.Wire;

/// <summary>A raw IPv4 socket for VRRP (protocol 112) on one interface of the current network namespace.</summary>
internal sealed class RawVrrpSocket : IVrrpTransport
{
    private const int AfInet = 2;
    private const int SockRaw = 3;
    private const int SolSocket = 1;
    private const int SoBindToDevice = 25;
    private const int MaxDropReasons = 64;

    private readonly Socket _socket;
    private readonly byte[] _receiveBuffer = new byte[2048];
    private readonly byte[] _sendBuffer = new byte[VrrpAdvertisement.HeaderLength + (4 * 255)];
    private readonly IPEndPoint _group = new(VrrpAdvertisement.MulticastGroup, 0);
    private readonly ConcurrentDictionary<string, long> _dropReasons = new();
    private long _dropped;

    private RawVrrpSocket(Socket socket, string interfaceName, IPAddress interfaceAddress)
    {
        _socket = socket;
        InterfaceName = interfaceName;
        InterfaceAddress = interfaceAddress;
    }

    /// <summary>The interface the socket sends on and listens on.</summary>
    public string InterfaceName { get; }

    /// <summary>The interface's IPv4 address: the multicast interface and the source of our adverts.</summary>
    public IPAddress InterfaceAddress { get; }

    /// <summary>Packets received and dropped as invalid (wrong TTL, checksum, version, ...).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Dropped packets by reason (the parser's error text; at most 64 distinct reasons, then "other").</summary>
    public IReadOnlyDictionary<string, long> DropReasons => _dropReasons;

    /// <summary>
    /// Opens the socket in the calling thread's network namespace: multicast TTL 255 and unicast TTL 255
    /// (§5.1.1.3), multicast sent out of <paramref name="interfaceAddress"/>, no multicast loopback, member of
    /// 224.0.0.18 on that interface, bound to the device <paramref name="interfaceName"/>.
    /// </summary>
    /// <exception cref="UnauthorizedAccessException">Not root (no CAP_NET_RAW).</exception>
    public static RawVrrpSocket Open(string interfaceName, IPAddress interfaceAddress)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("Raw VRRP sockets are implemented for Linux only.");
        }

        if (interfaceAddress.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException($"{interfaceAddress} is not an IPv4 address.", nameof(interfaceAddress));
        }

        var fd = NativeSocket(AfInet, SockRaw, VrrpAdvertisement.IpProtocol);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            const int eperm = 1;
            const int eacces = 13;
            if (errno is eperm or eacces)
            {
                throw new UnauthorizedAccessException(
                    $"socket(AF_INET, SOCK_RAW, 112) failed with errno {errno}: raw VRRP needs root (CAP_NET_RAW). " +
                    "Run as root, or use the loopback UDP election instead.");
            }

            throw new SocketException(errno);
        }

        Socket? socket = null;
        try
        {
            socket = new Socket(new SafeSocketHandle((IntPtr)fd, ownsHandle: true));
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.IpTimeToLive, (int)VrrpAdvertisement.RequiredTtl);
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, (int)VrrpAdvertisement.RequiredTtl);
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastLoopback, false);
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface,
                BitConverter.ToInt32(interfaceAddress.GetAddressBytes(), 0));
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership,
                new MulticastOption(VrrpAdvertisement.MulticastGroup, interfaceAddress));
            // Only packets that arrived on this interface: VRRP is per link (§7.1).
            socket.SetRawSocketOption(SolSocket, SoBindToDevice, Encoding.ASCII.GetBytes(interfaceName + "\0"));
            return new RawVrrpSocket(socket, interfaceName, interfaceAddress);
        }
        catch
        {
            if (socket is not null)
            {
                socket.Dispose();
            }
            else
            {
                NativeClose(fd);
            }

            throw;
        }
    }

    /// <summary>
    /// Sends <paramref name="advertisement"/> to 224.0.0.18; the kernel adds the IP header (TTL 255, source the
    /// multicast interface's address). The checksum is computed for <paramref name="source"/> → 224.0.0.18, so
    /// <paramref name="source"/> must be that interface address.
    /// </summary>
    public void Send(VrrpAdvertisement advertisement, IPAddress source)
    {
        var length = advertisement.Write(_sendBuffer, source, VrrpAdvertisement.MulticastGroup);
        _socket.SendTo(_sendBuffer.AsSpan(0, length), SocketFlags.None, _group);
    }

    /// <summary>
    /// Waits for the next valid advertisement (IP header checked, TTL 255, checksum verified) and returns it with
    /// its IP source address and TTL. Invalid packets are counted in <see cref="DropReasons"/> and skipped.
    /// Not safe for concurrent callers.
    /// </summary>
    public async ValueTask<(VrrpAdvertisement Advertisement, IPAddress Source, byte Ttl)> ReceiveAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var received = await _socket.ReceiveAsync(_receiveBuffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (VrrpAdvertisement.TryParseIpPacket(_receiveBuffer.AsSpan(0, received), out var advertisement, out var header, out var error))
            {
                return (advertisement, header.Source, header.Ttl);
            }

            Interlocked.Increment(ref _dropped);
            var key = _dropReasons.Count < MaxDropReasons || _dropReasons.ContainsKey(error) ? error : "other";
            _dropReasons.AddOrUpdate(key, 1, (_, count) => count + 1);
        }
    }

    public void Dispose() => _socket.Dispose();

    void IVrrpTransport.Send(VrrpAdvertisement advertisement) => Send(advertisement, InterfaceAddress);

    async ValueTask<(VrrpAdvertisement Advertisement, IPAddress Source)> IVrrpTransport.ReceiveAsync(CancellationToken cancellationToken)
    {
        var (advertisement, source, _) = await ReceiveAsync(cancellationToken).ConfigureAwait(false);
        return (advertisement, source);
    }

    [DllImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static extern int NativeSocket(int domain, int type, int protocol);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int NativeClose(int fd);
}
