using System.Net;
using Strata.Cluster.Vrrp;

namespace Strata.Tests.Cluster.Vrrp;

public class VrrpIpv4HeaderTests
{
    private static readonly IPAddress Source = IPAddress.Parse("10.0.0.2");
    private static readonly byte[] Payload = new VrrpAdvertisement(51, 200, 10, [VrrpPackets.Vip]).ToBytes(Source);

    [Fact]
    public void TryParseIpPacket_ValidPacket_StripsHeaderAndParses()
    {
        var packet = VrrpPackets.Ipv4Packet(Source, VrrpAdvertisement.MulticastGroup, Payload);

        Assert.True(VrrpAdvertisement.TryParseIpPacket(packet, out var advert, out var header, out var error), error);

        Assert.Equal(Source, header.Source);
        Assert.Equal(VrrpAdvertisement.MulticastGroup, header.Destination);
        Assert.Equal(255, header.Ttl);
        Assert.Equal(20, header.HeaderLength);
        Assert.Equal(200, advert.Priority);
        Assert.Equal([VrrpPackets.Vip], advert.Addresses);
    }

    [Fact]
    public void TryRead_HeaderWithOptions_StripsWholeHeader()
    {
        var packet = VrrpPackets.Ipv4Packet(Source, VrrpAdvertisement.MulticastGroup, Payload, optionBytes: 4);

        Assert.True(VrrpIpv4Header.TryRead(packet, out var header, out var error), error);

        Assert.Equal(24, header.HeaderLength);
        Assert.Equal(Payload, header.GetPayload(packet).ToArray());
    }

    [Fact]
    public void TryRead_TrailingBytesAfterTotalLength_AreNotPayload()
    {
        var packet = VrrpPackets.Ipv4Packet(Source, VrrpAdvertisement.MulticastGroup, Payload);
        var padded = packet.Concat(new byte[6]).ToArray();

        Assert.True(VrrpAdvertisement.TryParseIpPacket(padded, out _, out var header, out var error), error);
        Assert.Equal(Payload.Length, header.PayloadLength);
    }

    [Theory]
    [InlineData(254)]
    [InlineData(64)]
    [InlineData(1)]
    public void TryRead_TtlNot255_DroppedWithReason(int ttl)
    {
        var packet = VrrpPackets.Ipv4Packet(Source, VrrpAdvertisement.MulticastGroup, Payload, ttl: (byte)ttl);

        Assert.False(VrrpAdvertisement.TryParseIpPacket(packet, out _, out _, out var error));
        Assert.Contains($"TTL {ttl} from 10.0.0.2", error);
    }

    [Fact]
    public void TryRead_OtherProtocol_DroppedWithReason()
    {
        var packet = VrrpPackets.Ipv4Packet(Source, VrrpAdvertisement.MulticastGroup, Payload, protocol: 17);

        Assert.False(VrrpIpv4Header.TryRead(packet, out _, out var error));
        Assert.Contains("protocol 17", error);
    }

    [Fact]
    public void TryRead_TruncatedOrNotIpv4_DroppedWithReason()
    {
        var packet = VrrpPackets.Ipv4Packet(Source, VrrpAdvertisement.MulticastGroup, Payload);

        Assert.False(VrrpIpv4Header.TryRead(packet.AsSpan(0, 19), out _, out var shortError));
        Assert.Contains("shorter", shortError);

        Assert.False(VrrpIpv4Header.TryRead(packet.AsSpan(0, packet.Length - 1), out _, out var lengthError));
        Assert.Contains("total length", lengthError);

        var ipv6 = (byte[])packet.Clone();
        ipv6[0] = 0x65;
        Assert.False(VrrpIpv4Header.TryRead(ipv6, out _, out var versionError));
        Assert.Contains("IP version 6", versionError);
    }

    [Fact]
    public void TryParseIpPacket_ChecksumForOtherSource_Dropped()
    {
        // Checksummed as if from 10.0.0.3 but arriving from 10.0.0.2: the pseudo-header must use the IP source.
        var payload = new VrrpAdvertisement(51, 200, 10, [VrrpPackets.Vip]).ToBytes(IPAddress.Parse("10.0.0.3"));
        var packet = VrrpPackets.Ipv4Packet(Source, VrrpAdvertisement.MulticastGroup, payload);

        Assert.False(VrrpAdvertisement.TryParseIpPacket(packet, out _, out _, out var error));
        Assert.Contains("bad checksum", error);
    }
}
