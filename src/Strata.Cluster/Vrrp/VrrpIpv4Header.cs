using System.Buffers.Binary;
using System.Net;

namespace Strata.Cluster.Vrrp;

/// <summary>
/// The parts of a received IPv4 header VRRP cares about (RFC 5798 §5.1.1, §7.1;
/// <see href="https://www.rfc-editor.org/rfc/rfc791#section-3.1">RFC 791 §3.1</see> for the layout). A raw
/// IPv4 socket returns the IP header in front of the VRRP message (FINDINGS.md); this strips it after checking
/// that the packet is VRRP (protocol 112) and was not routed (TTL 255, the receiver "MUST" check it, §7.1).
/// </summary>
/// <param name="Source">IP source: the sender's primary address, used for the checksum and the tie-break.</param>
/// <param name="Destination">IP destination: normally 224.0.0.18; needed for the checksum pseudo-header.</param>
/// <param name="Ttl">Time to live as received.</param>
/// <param name="HeaderLength">Bytes of IP header, options included.</param>
/// <param name="PayloadLength">Bytes of VRRP message after the header, from the IP total length.</param>
internal readonly record struct VrrpIpv4Header(IPAddress Source, IPAddress Destination, byte Ttl, int HeaderLength, int PayloadLength)
{
    /// <summary>Smallest IPv4 header: 5 words, no options.</summary>
    public const int MinimumLength = 20;

    /// <summary>The VRRP message inside <paramref name="ipPacket"/>, the buffer this header was read from.</summary>
    public ReadOnlySpan<byte> GetPayload(ReadOnlySpan<byte> ipPacket) => ipPacket.Slice(HeaderLength, PayloadLength);

    /// <summary>
    /// Reads the IPv4 header at the start of <paramref name="ipPacket"/>. Returns false, with the reason the
    /// packet is dropped in <paramref name="error"/>, when it is not IPv4, is truncated, is not protocol 112, or
    /// arrived with a TTL other than 255.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> ipPacket, out VrrpIpv4Header header, out string error)
    {
        header = default;
        if (ipPacket.Length < MinimumLength)
        {
            error = $"packet of {ipPacket.Length} bytes is shorter than an IPv4 header";
            return false;
        }

        var version = ipPacket[0] >> 4;
        if (version != 4)
        {
            error = $"IP version {version}, expected 4";
            return false;
        }

        var headerLength = (ipPacket[0] & 0x0F) * 4;
        if (headerLength < MinimumLength || headerLength > ipPacket.Length)
        {
            error = $"IP header length {headerLength} is invalid for a {ipPacket.Length}-byte packet";
            return false;
        }

        // Linux raw sockets give the total length in network order and the packet reassembled; trust it over
        // the buffer length so trailing bytes never reach the VRRP parser.
        var totalLength = BinaryPrimitives.ReadUInt16BigEndian(ipPacket[2..]);
        if (totalLength < headerLength || totalLength > ipPacket.Length)
        {
            error = $"IP total length {totalLength} does not fit the {ipPacket.Length}-byte packet with a {headerLength}-byte header";
            return false;
        }

        var protocol = ipPacket[9];
        if (protocol != VrrpAdvertisement.IpProtocol)
        {
            error = $"IP protocol {protocol}, expected {VrrpAdvertisement.IpProtocol} (VRRP, RFC 5798 §5.1.1.4)";
            return false;
        }

        var ttl = ipPacket[8];
        var source = new IPAddress(ipPacket.Slice(12, 4));
        if (ttl != VrrpAdvertisement.RequiredTtl)
        {
            // A lower TTL means the packet crossed a router: VRRP is link-local, so it is not from our link.
            error = $"TTL {ttl} from {source}, expected {VrrpAdvertisement.RequiredTtl} (RFC 5798 §5.1.1.3, §7.1)";
            return false;
        }

        header = new VrrpIpv4Header(source, new IPAddress(ipPacket.Slice(16, 4)), ttl, headerLength, totalLength - headerLength);
        error = "";
        return true;
    }
}
