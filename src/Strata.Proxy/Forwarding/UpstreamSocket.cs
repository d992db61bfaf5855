using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using Strata.Topology;

namespace Strata.Proxy.Forwarding;

/// <summary>
/// The sockets a proxy opens to its servers, bound first to the proxy's own address (HAProxy's <c>source</c>, nginx's
/// <c>proxy_bind</c>): the tier behind tells its proxies from clients by the peer address
/// (<see cref="Topology.Topology.ProxiesInFront"/>), and on one machine every loopback connection would otherwise
/// come from 127.0.0.1, where a client can be too.
/// </summary>
internal static class UpstreamSocket
{
    // Linux's IP_BIND_ADDRESS_NO_PORT (IPPROTO_IP 0, option 24): the port is chosen at connect, per server, rather than
    // at bind, where every connection of the node would need a port of its own.
    private const int IpProtocolIp = 0;
    private const int IpBindAddressNoPort = 24;
    private static readonly byte[] On = BitConverter.GetBytes(1);

    /// <summary>The address <paramref name="node"/>'s proxy connects from: its own, or null when it listens on every address (the kernel chooses).</summary>
    public static IPAddress? SourceFor(NodeSpec node) =>
        node.Address.Address.Equals(IPAddress.Any) || node.Address.Address.Equals(IPAddress.IPv6Any) ? null : node.Address.Address;

    /// <summary>A TCP socket to <paramref name="server"/>, bound to <paramref name="source"/> when that can reach it (same family, both loopback or neither).</summary>
    public static Socket Create(IPEndPoint server, IPAddress? source)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (source is null || source.AddressFamily != server.AddressFamily || IPAddress.IsLoopback(source) != IPAddress.IsLoopback(server.Address))
        {
            return socket;
        }

        try
        {
            if (OperatingSystem.IsLinux())
            {
                socket.SetRawSocketOption(IpProtocolIp, IpBindAddressNoPort, On);
            }

            socket.Bind(new IPEndPoint(source, 0));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>HttpClient's connect (<see cref="SocketsHttpHandler.ConnectCallback"/>) from <paramref name="source"/>.</summary>
    public static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, IPAddress? source, CancellationToken cancellationToken)
    {
        var server = new IPEndPoint(IPAddress.Parse(context.DnsEndPoint.Host.Trim('[', ']')), context.DnsEndPoint.Port);
        var socket = Create(server, source);
        try
        {
            await socket.ConnectAsync(server, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
