using System.Net;
using System.Net.Sockets;

namespace Strata.Dns.Server;

/// <summary>The DNS server could not listen on its address (in use, not local, or a privileged port).</summary>
public sealed class DnsBindException : Exception
{
    /// <summary>Creates the exception for <paramref name="address"/>.</summary>
    public DnsBindException(IPEndPoint address, SocketException innerException)
        : base($"DNS cannot listen on {address} (UDP+TCP): {innerException.Message} ({innerException.SocketErrorCode})", innerException)
    {
        Address = address;
    }

    /// <summary>The address that could not be bound.</summary>
    public IPEndPoint Address { get; }
}
