using System.Collections.Immutable;
using System.Net;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.Dns;

/// <summary>The default zone (apex and www → the VIP) and a topology around a DNS node on a chosen port.</summary>
internal static class DnsTestTopology
{
    public const string Zone = "foobar.com";

    public static readonly IPAddress VipAddress = IPAddress.Parse("127.0.0.100");

    public static readonly TimeSpan Ttl = TimeSpan.FromSeconds(60);

    /// <summary>The zone of the default strata.json: apex and www → the VIP.</summary>
    public static DnsZoneSpec ZoneSpec(IReadOnlyDictionary<string, IPAddress>? records = null) =>
        new(Zone, Ttl, (records ?? new Dictionary<string, IPAddress>
        {
            [Zone] = VipAddress,
            [$"www.{Zone}"] = VipAddress,
        }).ToImmutableDictionary(StringComparer.Ordinal));

    /// <summary>A topology whose DNS node serves on <paramref name="dnsAddress"/>, management on 127.0.0.1:0.</summary>
    public static Strata.Topology.Topology Create(IPEndPoint dnsAddress) => TestTopology.Create(
        dns: new NodeSpec("dns", NodeRole.Dns, dnsAddress, new IPEndPoint(IPAddress.Loopback, 0)),
        zone: ZoneSpec(),
        vip: new IPEndPoint(VipAddress, 8080));
}
