using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Strata.Cluster.Vrrp;

/// <summary>
/// A VRRPv3 ADVERTISEMENT for IPv4, the only message VRRP has
/// (<see href="https://www.rfc-editor.org/rfc/rfc5798#section-5.2">RFC 5798 §5.2</see>):
/// <code>
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
/// |-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-|
/// |(rsvd) |     Max Adver Int     |          Checksum             |
/// |-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                       IPv4 Address(es)                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// It travels as IP protocol 112 to 224.0.0.18 with TTL 255 (§5.1.1). The checksum covers an IPv4
/// pseudo-header (§5.2.8), so writing and verifying need the IP source and destination.
/// </summary>
internal sealed class VrrpAdvertisement
{
    /// <summary>IP protocol number assigned to VRRP (§5.1.1.4).</summary>
    public const byte IpProtocol = 112;

    /// <summary>IPv4 TTL a VRRP packet is sent with and must arrive with (§5.1.1.3, §7.1).</summary>
    public const byte RequiredTtl = 255;

    /// <summary>The Version field of VRRPv3 (§5.2.1).</summary>
    public const int ProtocolVersion = 3;

    /// <summary>The Type field of an ADVERTISEMENT, the only type defined (§5.2.2).</summary>
    public const int AdvertisementType = 1;

    /// <summary>Bytes before the address list: version/type, VRID, priority, count, rsvd/interval, checksum.</summary>
    public const int HeaderLength = 8;

    /// <summary>Priority 0: the master is stopping and a backup should take over at once (§5.2.4).</summary>
    public const byte StopPriority = 0;

    /// <summary>Priority 255: the router owns the virtual addresses (§5.2.4).</summary>
    public const byte OwnerPriority = 255;

    /// <summary>The Max Adver Int field has 12 bits of centiseconds (§5.2.7).</summary>
    public const int MaxIntervalCentiseconds = 0x0FFF;

    /// <summary>The IPv4 multicast group VRRP is sent to (§5.1.1.2).</summary>
    public static readonly IPAddress MulticastGroup = IPAddress.Parse("224.0.0.18");

    /// <summary>Builds an advertisement to send; the checksum is filled when it is written.</summary>
    /// <param name="virtualRouterId">VRID, 1–255 (§5.2.3).</param>
    /// <param name="priority">Sender's priority, 0–255 (§5.2.4).</param>
    /// <param name="maxAdvertIntervalCentiseconds">Advertisement interval in centiseconds, 1–4095 (§5.2.7).</param>
    /// <param name="addresses">The virtual IPv4 addresses (§5.2.9).</param>
    public VrrpAdvertisement(byte virtualRouterId, byte priority, int maxAdvertIntervalCentiseconds, IReadOnlyList<IPAddress> addresses)
        : this(virtualRouterId, priority, maxAdvertIntervalCentiseconds, addresses, checksum: 0)
    {
    }

    private VrrpAdvertisement(byte virtualRouterId, byte priority, int maxAdvertIntervalCentiseconds, IReadOnlyList<IPAddress> addresses, ushort checksum)
    {
        if (virtualRouterId == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(virtualRouterId), "VRID must be 1–255 (RFC 5798 §5.2.3).");
        }

        if (maxAdvertIntervalCentiseconds is < 1 or > MaxIntervalCentiseconds)
        {
            throw new ArgumentOutOfRangeException(nameof(maxAdvertIntervalCentiseconds), maxAdvertIntervalCentiseconds,
                "Max Adver Int must be 1–4095 centiseconds (RFC 5798 §5.2.7).");
        }

        if (addresses.Count > byte.MaxValue)
        {
            throw new ArgumentException("At most 255 addresses fit the Count IPvX Addr field (RFC 5798 §5.2.5).", nameof(addresses));
        }

        foreach (var address in addresses)
        {
            if (address.AddressFamily != AddressFamily.InterNetwork)
            {
                throw new ArgumentException($"{address} is not an IPv4 address.", nameof(addresses));
            }
        }

        VirtualRouterId = virtualRouterId;
        Priority = priority;
        MaxAdvertIntervalCentiseconds = maxAdvertIntervalCentiseconds;
        Addresses = addresses;
        Checksum = checksum;
    }

    /// <summary>Virtual Router Identifier, 1–255 (§5.2.3).</summary>
    public byte VirtualRouterId { get; }

    /// <summary>Sender's priority: 255 owner, 1–254 backup-capable, 0 stopping master (§5.2.4).</summary>
    public byte Priority { get; }

    /// <summary>Max Adver Int in centiseconds (§5.2.7).</summary>
    public int MaxAdvertIntervalCentiseconds { get; }

    /// <summary><see cref="MaxAdvertIntervalCentiseconds"/> as a time span.</summary>
    public TimeSpan MaxAdvertInterval => TimeSpan.FromMilliseconds(MaxAdvertIntervalCentiseconds * 10L);

    /// <summary>The checksum as received (§5.2.8); 0 for an advertisement built to send.</summary>
    public ushort Checksum { get; }

    /// <summary>The virtual IPv4 addresses (§5.2.9).</summary>
    public IReadOnlyList<IPAddress> Addresses { get; }

    /// <summary>Bytes this advertisement takes on the wire.</summary>
    public int Length => HeaderLength + (4 * Addresses.Count);

    /// <summary>
    /// Converts an interval to whole centiseconds, the unit of the wire field (§5.2.7). Returns false when it
    /// is not a whole number of centiseconds or falls outside 10 ms–40.95 s.
    /// </summary>
    public static bool TryGetCentiseconds(TimeSpan interval, out int centiseconds)
    {
        const long ticksPerCentisecond = TimeSpan.TicksPerMillisecond * 10;
        centiseconds = 0;
        if (interval.Ticks % ticksPerCentisecond != 0)
        {
            return false;
        }

        var value = interval.Ticks / ticksPerCentisecond;
        if (value is < 1 or > MaxIntervalCentiseconds)
        {
            return false;
        }

        centiseconds = (int)value;
        return true;
    }

    /// <summary>
    /// Parses the VRRP part of a packet (the IP header already removed) and checks what can be checked without
    /// the IP header: version, type, VRID, that the length matches the address count, a non-zero interval
    /// (§7.1). The checksum is not verified; use the overload with the IP addresses for that.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> vrrpPayload, out VrrpAdvertisement advertisement, out string error)
    {
        advertisement = null!;
        if (vrrpPayload.Length < HeaderLength)
        {
            error = $"packet of {vrrpPayload.Length} bytes is shorter than the {HeaderLength}-byte VRRP header";
            return false;
        }

        var version = vrrpPayload[0] >> 4;
        if (version != ProtocolVersion)
        {
            error = $"version {version}, expected {ProtocolVersion} (RFC 5798 §5.2.1)";
            return false;
        }

        var type = vrrpPayload[0] & 0x0F;
        if (type != AdvertisementType)
        {
            error = $"type {type}, expected {AdvertisementType} ADVERTISEMENT (RFC 5798 §5.2.2)";
            return false;
        }

        var virtualRouterId = vrrpPayload[1];
        if (virtualRouterId == 0)
        {
            error = "VRID 0 is not valid (RFC 5798 §5.2.3)";
            return false;
        }

        var count = vrrpPayload[3];
        var expectedLength = HeaderLength + (4 * count);
        // Exact, not "at least": a raw socket hands us the IP payload, sized by the IP total length, so any
        // extra bytes mean the sender and we disagree about the format.
        if (vrrpPayload.Length != expectedLength)
        {
            error = $"length {vrrpPayload.Length} does not match {HeaderLength} + 4 × {count} addresses = {expectedLength} (RFC 5798 §5.2.5)";
            return false;
        }

        // The top 4 bits are reserved: sent as zero, ignored on receipt (§5.2.6).
        var interval = BinaryPrimitives.ReadUInt16BigEndian(vrrpPayload[4..]) & MaxIntervalCentiseconds;
        if (interval == 0)
        {
            error = "Max Adver Int is 0 (RFC 5798 §5.2.7)";
            return false;
        }

        var addresses = new IPAddress[count];
        for (var i = 0; i < count; i++)
        {
            addresses[i] = new IPAddress(vrrpPayload.Slice(HeaderLength + (4 * i), 4));
        }

        var checksum = BinaryPrimitives.ReadUInt16BigEndian(vrrpPayload[6..]);
        advertisement = new VrrpAdvertisement(virtualRouterId, vrrpPayload[2], interval, addresses, checksum);
        error = "";
        return true;
    }

    /// <summary>
    /// Parses the VRRP part of a packet and verifies its checksum against the pseudo-header built from the IP
    /// source and destination it arrived with (§5.2.8, §7.1).
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> vrrpPayload, IPAddress source, IPAddress destination,
        out VrrpAdvertisement advertisement, out string error)
    {
        if (!TryParse(vrrpPayload, out advertisement, out error))
        {
            return false;
        }

        if (!VerifyChecksum(source, destination, vrrpPayload))
        {
            var expected = ComputeChecksum(source, destination, vrrpPayload);
            error = $"bad checksum 0x{advertisement.Checksum:x4}, expected 0x{expected:x4} (RFC 5798 §5.2.8)";
            advertisement = null!;
            return false;
        }

        return true;
    }

    /// <summary>
    /// Parses a whole received IPv4 packet, as a raw socket returns it (IP header included): checks the IP
    /// header (<see cref="VrrpIpv4Header.TryRead"/>), then the advertisement and its checksum.
    /// </summary>
    public static bool TryParseIpPacket(ReadOnlySpan<byte> ipPacket, out VrrpAdvertisement advertisement,
        out VrrpIpv4Header header, out string error)
    {
        advertisement = null!;
        if (!VrrpIpv4Header.TryRead(ipPacket, out header, out error))
        {
            return false;
        }

        return TryParse(header.GetPayload(ipPacket), header.Source, header.Destination, out advertisement, out error);
    }

    /// <summary>
    /// Writes the advertisement into <paramref name="buffer"/> with the checksum computed over the pseudo-header
    /// for <paramref name="source"/> → <paramref name="destination"/> (default 224.0.0.18). Returns the bytes written.
    /// </summary>
    public int Write(Span<byte> buffer, IPAddress source, IPAddress? destination = null)
    {
        if (buffer.Length < Length)
        {
            throw new ArgumentException($"Buffer of {buffer.Length} bytes cannot hold a {Length}-byte advertisement.", nameof(buffer));
        }

        var packet = buffer[..Length];
        packet[0] = (ProtocolVersion << 4) | AdvertisementType;
        packet[1] = VirtualRouterId;
        packet[2] = Priority;
        packet[3] = (byte)Addresses.Count;
        BinaryPrimitives.WriteUInt16BigEndian(packet[4..], (ushort)MaxAdvertIntervalCentiseconds); // rsvd bits stay 0
        BinaryPrimitives.WriteUInt16BigEndian(packet[6..], 0);
        for (var i = 0; i < Addresses.Count; i++)
        {
            Addresses[i].TryWriteBytes(packet.Slice(HeaderLength + (4 * i), 4), out _);
        }

        var checksum = ComputeChecksum(source, destination ?? MulticastGroup, packet);
        BinaryPrimitives.WriteUInt16BigEndian(packet[6..], checksum);
        return Length;
    }

    /// <summary>The advertisement as bytes, checksum filled for <paramref name="source"/> → <paramref name="destination"/>.</summary>
    public byte[] ToBytes(IPAddress source, IPAddress? destination = null)
    {
        var bytes = new byte[Length];
        Write(bytes, source, destination);
        return bytes;
    }

    /// <summary>
    /// The VRRP checksum (§5.2.8): the 16-bit one's complement of the one's complement sum of an IPv4
    /// pseudo-header (source, destination, zero, protocol 112, VRRP length) and the VRRP message, with the
    /// checksum field counted as zero. keepalived checks VRRPv3 over IPv4 this way (FINDINGS.md).
    /// </summary>
    public static ushort ComputeChecksum(IPAddress source, IPAddress destination, ReadOnlySpan<byte> vrrpMessage)
    {
        Span<byte> pseudoHeader = stackalloc byte[12];
        WriteIpv4(source, pseudoHeader[..4], nameof(source));
        WriteIpv4(destination, pseudoHeader[4..8], nameof(destination));
        pseudoHeader[8] = 0;
        pseudoHeader[9] = IpProtocol;
        BinaryPrimitives.WriteUInt16BigEndian(pseudoHeader[10..], (ushort)vrrpMessage.Length);

        var sum = SumWords(pseudoHeader);
        sum += SumWords(vrrpMessage[..Math.Min(6, vrrpMessage.Length)]);
        if (vrrpMessage.Length > HeaderLength)
        {
            sum += SumWords(vrrpMessage[HeaderLength..]);
        }

        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)~sum;
    }

    /// <summary>True when the checksum field of <paramref name="vrrpMessage"/> matches its content (§5.2.8).</summary>
    public static bool VerifyChecksum(IPAddress source, IPAddress destination, ReadOnlySpan<byte> vrrpMessage)
    {
        if (vrrpMessage.Length < HeaderLength)
        {
            return false;
        }

        return BinaryPrimitives.ReadUInt16BigEndian(vrrpMessage[6..]) == ComputeChecksum(source, destination, vrrpMessage);
    }

    /// <summary>An IPv4 address as an unsigned 32-bit number, for the comparison of §6.4.3.</summary>
    public static uint ToUInt32(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[4];
        WriteIpv4(address, bytes, nameof(address));
        return BinaryPrimitives.ReadUInt32BigEndian(bytes);
    }

    private static void WriteIpv4(IPAddress address, Span<byte> destination, string parameterName)
    {
        if (address.AddressFamily != AddressFamily.InterNetwork || !address.TryWriteBytes(destination, out _))
        {
            throw new ArgumentException($"{address} is not an IPv4 address.", parameterName);
        }
    }

    // Big-endian 16-bit words; an odd last byte is padded with zero (RFC 1071). Addresses keep the VRRP
    // message a multiple of 4 bytes, so the padding only matters for malformed input.
    private static uint SumWords(ReadOnlySpan<byte> bytes)
    {
        uint sum = 0;
        var i = 0;
        for (; i + 1 < bytes.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(bytes[i..]);
        }

        if (i < bytes.Length)
        {
            sum += (uint)bytes[i] << 8;
        }

        return sum;
    }
}
