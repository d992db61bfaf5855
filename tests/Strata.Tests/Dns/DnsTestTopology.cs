using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using Strata.Topology;

namespace Strata.Tests.Dns;

/// <summary>
/// Builds a <see cref="Strata.Topology.Topology"/> directly: the validator rejects port 0, and these tests
/// need ports chosen at run time.
/// </summary>
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
    public static Strata.Topology.Topology Create(IPEndPoint dnsAddress)
    {
        var check = new HealthCheckSpec("/readyz", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), 2, 1);
        return new Strata.Topology.Topology
        {
            SourcePath = Path.Combine(Path.GetTempPath(), "strata.json"),
            Dns = new NodeSpec("dns", NodeRole.Dns, dnsAddress, new IPEndPoint(IPAddress.Loopback, 0)),
            Zone = ZoneSpec(),
            Vip = new IPEndPoint(VipAddress, 8080),
            LoadBalancers = [],
            WebNodes = [],
            AppNodes = [],
            WebHealthCheck = check,
            AppHealthCheck = check,
            WebRoot = Path.GetTempPath(),
            Database = new DatabaseSpec("sqlite", Path.Combine(Path.GetTempPath(), "strata-dns-tests.db")),
        };
    }

    /// <summary>A loopback port that is free for both UDP and TCP right now.</summary>
    public static int FreeUdpAndTcpPort()
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var port = ((IPEndPoint)udp.LocalEndPoint!).Port;

            using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                tcp.Bind(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException)
            {
                // Taken on TCP by someone else; try another.
            }
        }

        throw new InvalidOperationException("no loopback port free for both UDP and TCP after 50 attempts");
    }
}
