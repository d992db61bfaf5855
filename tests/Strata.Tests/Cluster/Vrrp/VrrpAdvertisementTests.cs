using System.Net;
using Strata.Cluster.Vrrp;

namespace Strata.Tests.Cluster.Vrrp;

public class VrrpAdvertisementTests
{
    private static readonly IPAddress Source = IPAddress.Parse("192.168.1.10");
    private static readonly IPAddress Group = IPAddress.Parse("224.0.0.18");

    // VRID 51, priority 100, 1 address, interval 100 cs, address 192.168.1.100; checksum field zero.
    private static readonly byte[] Example = [0x31, 0x33, 0x64, 0x01, 0x00, 0x64, 0x00, 0x00, 0xC0, 0xA8, 0x01, 0x64];

    [Fact]
    public void ComputeChecksum_KnownPacket_MatchesHandComputedSum()
    {
        // By hand, 16-bit words of the pseudo-header then the message:
        //   C0A8 010A  (source 192.168.1.10)     E000 0012 (destination 224.0.0.18)
        //   0070       (zero, protocol 112)      000C      (VRRP length 12)
        //   3133 6401  (v3/type 1, VRID 51, priority 100, count 1)
        //   0064 0000  (interval 100 cs, checksum as zero)  C0A8 0164 (192.168.1.100)
        // Sum = 0x2F9E4; fold: 0xF9E4 + 0x2 = 0xF9E6; complement: 0x0619.
        Assert.Equal(0x0619, VrrpAdvertisement.ComputeChecksum(Source, Group, Example));
        Assert.Equal(0x0619, VrrpPackets.ReferenceChecksum(Source, Group, Example));
    }

    [Fact]
    public void ToBytes_KnownAdvertisement_WritesExpectedBytesAndChecksum()
    {
        var advert = new VrrpAdvertisement(51, 100, 100, [IPAddress.Parse("192.168.1.100")]);

        var bytes = advert.ToBytes(Source);

        byte[] expected = [0x31, 0x33, 0x64, 0x01, 0x00, 0x64, 0x06, 0x19, 0xC0, 0xA8, 0x01, 0x64];
        Assert.Equal(expected, bytes);
        Assert.True(VrrpAdvertisement.VerifyChecksum(Source, Group, bytes));
    }

    [Theory]
    [InlineData(1, 0, 1, 0)]
    [InlineData(255, 255, 4095, 3)]
    [InlineData(7, 150, 10, 7)]
    public void ComputeChecksum_VariousAdvertisements_MatchesReferenceSum(int vrid, int priority, int interval, int addressCount)
    {
        var addresses = Enumerable.Range(1, addressCount).Select(i => IPAddress.Parse($"10.{i}.{255 - i}.{i * 7}")).ToArray();
        var bytes = new VrrpAdvertisement((byte)vrid, (byte)priority, interval, addresses).ToBytes(Source);

        var stored = (ushort)((bytes[6] << 8) | bytes[7]);
        Assert.Equal(VrrpPackets.ReferenceChecksum(Source, Group, bytes), stored);
    }

    [Fact]
    public void TryParse_RoundTrip_KeepsEveryField()
    {
        IPAddress[] addresses = [IPAddress.Parse("10.0.0.100"), IPAddress.Parse("10.0.0.101")];
        var advert = new VrrpAdvertisement(42, 200, 10, addresses);
        var bytes = advert.ToBytes(Source);

        Assert.True(VrrpAdvertisement.TryParse(bytes, Source, Group, out var parsed, out var error), error);

        Assert.Equal(42, parsed.VirtualRouterId);
        Assert.Equal(200, parsed.Priority);
        Assert.Equal(10, parsed.MaxAdvertIntervalCentiseconds);
        Assert.Equal(TimeSpan.FromMilliseconds(100), parsed.MaxAdvertInterval);
        Assert.Equal(addresses, parsed.Addresses);
        Assert.Equal((ushort)((bytes[6] << 8) | bytes[7]), parsed.Checksum);
        Assert.Equal(bytes, parsed.ToBytes(Source));
    }

    [Fact]
    public void TryParse_ReservedBitsSet_IgnoresThem()
    {
        var bytes = (byte[])Example.Clone();
        bytes[4] |= 0xF0;

        Assert.True(VrrpAdvertisement.TryParse(bytes, out var parsed, out var error), error);
        Assert.Equal(100, parsed.MaxAdvertIntervalCentiseconds);
    }

    [Fact]
    public void TryParse_Version2_Rejected()
    {
        var bytes = WithChecksum(b => b[0] = 0x21);

        Assert.False(VrrpAdvertisement.TryParse(bytes, Source, Group, out _, out var error));
        Assert.Contains("version 2", error);
    }

    [Fact]
    public void TryParse_UnknownType_Rejected()
    {
        var bytes = WithChecksum(b => b[0] = 0x32);

        Assert.False(VrrpAdvertisement.TryParse(bytes, Source, Group, out _, out var error));
        Assert.Contains("type 2", error);
    }

    [Fact]
    public void TryParse_ShorterThanHeader_Rejected()
    {
        Assert.False(VrrpAdvertisement.TryParse(Example.AsSpan(0, 7), out _, out var error));
        Assert.Contains("shorter", error);
    }

    [Fact]
    public void TryParse_LengthDoesNotMatchCount_Rejected()
    {
        var bytes = WithChecksum(b => b[3] = 2);

        Assert.False(VrrpAdvertisement.TryParse(bytes, Source, Group, out _, out var error));
        Assert.Contains("does not match", error);
    }

    [Fact]
    public void TryParse_ZeroInterval_Rejected()
    {
        var bytes = WithChecksum(b => b[5] = 0);

        Assert.False(VrrpAdvertisement.TryParse(bytes, Source, Group, out _, out var error));
        Assert.Contains("Max Adver Int is 0", error);
    }

    [Fact]
    public void TryParse_VridZero_Rejected()
    {
        var bytes = WithChecksum(b => b[1] = 0);

        Assert.False(VrrpAdvertisement.TryParse(bytes, Source, Group, out _, out var error));
        Assert.Contains("VRID 0", error);
    }

    [Fact]
    public void TryParse_CorruptedByte_RejectedForChecksum()
    {
        var bytes = WithChecksum(_ => { });
        bytes[2] = 101; // priority changed in flight

        Assert.False(VrrpAdvertisement.TryParse(bytes, Source, Group, out _, out var error));
        Assert.Contains("bad checksum", error);
    }

    [Fact]
    public void TryParse_OtherSourceThanChecksummed_RejectedForChecksum()
    {
        var bytes = WithChecksum(_ => { });

        Assert.False(VrrpAdvertisement.TryParse(bytes, IPAddress.Parse("192.168.1.11"), Group, out _, out var error));
        Assert.Contains("bad checksum", error);
    }

    [Fact]
    public void Constructor_VridZeroOrIntervalOutOfRange_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new VrrpAdvertisement(0, 100, 10, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => new VrrpAdvertisement(1, 100, 0, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => new VrrpAdvertisement(1, 100, 4096, []));
        Assert.Throws<ArgumentException>(() => new VrrpAdvertisement(1, 100, 10, [IPAddress.IPv6Loopback]));
    }

    [Theory]
    [InlineData(100, true, 10)]
    [InlineData(10, true, 1)]
    [InlineData(40950, true, 4095)]
    [InlineData(5, false, 0)]
    [InlineData(105, false, 0)]
    [InlineData(40960, false, 0)]
    public void TryGetCentiseconds_Interval_ConvertsWholeCentisecondsInRange(int milliseconds, bool ok, int expected)
    {
        Assert.Equal(ok, VrrpAdvertisement.TryGetCentiseconds(TimeSpan.FromMilliseconds(milliseconds), out var centiseconds));
        Assert.Equal(expected, centiseconds);
    }

    // The example with a change, checksum recomputed, so only the change can cause the rejection.
    private static byte[] WithChecksum(Action<byte[]> change)
    {
        var bytes = (byte[])Example.Clone();
        change(bytes);
        var checksum = VrrpPackets.ReferenceChecksum(Source, Group, bytes);
        bytes[6] = (byte)(checksum >> 8);
        bytes[7] = (byte)checksum;
        return bytes;
    }
}
