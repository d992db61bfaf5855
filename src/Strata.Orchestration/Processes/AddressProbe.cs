using System.Net;
using System.Net.Sockets;

namespace Strata.Orchestration.Processes;

/// <summary>Finds addresses already taken before anything is started, so a conflict leaves nothing half-started.</summary>
internal static class AddressProbe
{
    /// <summary>Whether a TCP listener (and, for <paramref name="udpToo"/>, a UDP socket) can bind <paramref name="endpoint"/>.</summary>
    public static bool IsFree(IPEndPoint endpoint, bool udpToo = false)
    {
        return CanBind(endpoint, SocketType.Stream, ProtocolType.Tcp) && (!udpToo || CanBind(endpoint, SocketType.Dgram, ProtocolType.Udp));
    }

    private static bool CanBind(IPEndPoint endpoint, SocketType type, ProtocolType protocol)
    {
        using var socket = new Socket(endpoint.AddressFamily, type, protocol);
        if (type == SocketType.Stream)
        {
            // Kestrel binds with SO_REUSEADDR too: connections in TIME_WAIT from a previous run do not block it.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        }

        try
        {
            socket.Bind(endpoint);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
