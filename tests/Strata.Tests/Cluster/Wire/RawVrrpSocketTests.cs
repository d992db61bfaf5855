// Why this file exists: proves the raw protocol-112 socket really carries VRRPv3 adverts across a link
// (namespace a → bridge → namespace b) with the IP header the kernel adds (TTL 255, checksum over the
// pseudo-header), and that VipAddress adds and removes a /32 inside a namespace. Needs root; see NetnsTestNetwork.
using System.Net;
using Strata.Cluster.Vrrp;
using Strata.Cluster.Wire;
using Xunit.Abstractions;

namespace Strata.Tests.Cluster.Wire;

public sealed class RawVrrpSocketTests(NetnsTestNetwork network, ITestOutputHelper output) : IClassFixture<NetnsTestNetwork>
{
    [SkippableFact]
    public async Task Send_AdvertInOneNamespace_ReceivedInTheOther()
    {
        if (!network.Check(output))
        {
            return;
        }

        var addressA = IPAddress.Parse(network.AddressA);
        var vip = IPAddress.Parse(network.Vip);
        using var sender = await NetnsTestNetwork.InNamespaceAsync(network.A, () => RawVrrpSocket.Open(network.InterfaceA, addressA));
        using var receiver = await NetnsTestNetwork.InNamespaceAsync(network.B, () => RawVrrpSocket.Open(network.InterfaceB, IPAddress.Parse(network.AddressB)));

        var advert = new VrrpAdvertisement(51, 150, 10, [vip]);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var receive = receiver.ReceiveAsync(timeout.Token).AsTask();
        // Send until heard: the first packet may go out before the bridge port is forwarding.
        while (!receive.IsCompleted && !timeout.IsCancellationRequested)
        {
            sender.Send(advert, addressA);
            await Task.WhenAny(receive, Task.Delay(100));
        }

        var (received, source, ttl) = await receive;
        Assert.Equal(addressA, source);
        Assert.Equal(VrrpAdvertisement.RequiredTtl, ttl);
        Assert.Equal(51, received.VirtualRouterId);
        Assert.Equal(150, received.Priority);
        Assert.Equal(10, received.MaxAdvertIntervalCentiseconds);
        Assert.Equal([vip], received.Addresses);
        output.WriteLine($"received from {source}, TTL {ttl}, checksum 0x{received.Checksum:x4}; dropped {receiver.Dropped}");
    }

    [SkippableFact]
    public async Task VipAddress_AddAndRemove_InsideTheNamespace()
    {
        if (!network.Check(output))
        {
            return;
        }

        var vip = IPAddress.Parse(network.Vip);
        try
        {
            await NetnsTestNetwork.InNamespaceAsync(network.A, () =>
            {
                VipAddress.AddAsync(vip, network.InterfaceA).GetAwaiter().GetResult();
                return VipAddress.SendGratuitousArpAsync(vip, network.InterfaceA).GetAwaiter().GetResult();
            });
            Assert.Contains($"{vip}/32", await AddressesAsync(network.A, network.InterfaceA));

            await NetnsTestNetwork.InNamespaceAsync(network.A, () =>
            {
                VipAddress.RemoveAsync(vip, network.InterfaceA).GetAwaiter().GetResult();
                return true;
            });
            Assert.DoesNotContain($"{vip}/32", await AddressesAsync(network.A, network.InterfaceA));
        }
        finally
        {
            await Commands.RunAsync("ip", "-n", network.A, "addr", "del", $"{vip}/32", "dev", network.InterfaceA);
        }
    }

    internal static async Task<string> AddressesAsync(string ns, string iface) =>
        await Commands.RunCheckedAsync("ip", "-n", ns, "-4", "addr", "show", "dev", iface);
}
