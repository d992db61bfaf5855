using System.Collections.Immutable;
using System.Net;

namespace Strata.Topology;

/// <summary>
/// The peers a node takes X-Forwarded-* and the other client-address headers from (<see cref="Topology.ProxiesInFront"/>):
/// one check for the proxies, the app nodes and the web access log.
/// </summary>
public sealed class TrustedPeers(ImmutableArray<IPNetwork> networks)
{
    /// <summary>None: every peer is a client.</summary>
    public static readonly TrustedPeers None = new([]);

    /// <summary>The addresses and ranges, as written (nginx's <c>set_real_ip_from</c> lines).</summary>
    public ImmutableArray<IPNetwork> Networks => networks;

    /// <summary>Whether <paramref name="peer"/> is one of them (an IPv4-mapped IPv6 address as IPv4).</summary>
    public bool Contains(IPAddress? peer)
    {
        if (peer is null)
        {
            return false;
        }

        if (peer.IsIPv4MappedToIPv6)
        {
            peer = peer.MapToIPv4();
        }

        foreach (var network in networks)
        {
            if (network.Contains(peer))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The client an X-Forwarded-For chain names, as nginx's <c>real_ip_recursive</c> and ASP.NET's ForwardedHeaders
    /// read it: from the peer leftwards while the address is one of these, the first that is not (or the leftmost).
    /// A client's own entries count only behind a trusted peer, and never beyond an untrusted one.
    /// </summary>
    public string Client(IPAddress? peer, string? forwardedFor)
    {
        if (!Contains(peer) || string.IsNullOrEmpty(forwardedFor))
        {
            return peer?.ToString() ?? "-";
        }

        var entries = forwardedFor.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        for (var i = entries.Length - 1; i > 0; i--)
        {
            if (!IPAddress.TryParse(entries[i], out var hop) || !Contains(hop))
            {
                return entries[i];
            }
        }

        return entries.Length > 0 ? entries[0] : peer!.ToString();
    }
}
