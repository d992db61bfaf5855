using System.Collections.Immutable;
using System.Net;

namespace Strata.Topology;

/// <summary>
/// Where the nodes of a topology live under <c>strata up --netns</c>: each in its own network namespace with one
/// interface, <see cref="InterfaceName"/>, on <see cref="Topology.NetnsSubnet"/>. The host end of the one veth
/// into the host namespace gets the first address (.1), the nodes .10 on in <see cref="Topology.AllNodes"/>
/// order, the VIP .100; every port stays as written. A pure function of the topology file, so the orchestrator,
/// <c>status</c> and each node (started with <c>--netns</c>) agree on it without passing addresses around.
/// </summary>
public static class NetnsLayout
{
    /// <summary>The subnet when strata.json names none.</summary>
    public static readonly IPNetwork DefaultSubnet = IPNetwork.Parse("10.201.0.0/24");

    /// <summary>Each node's one interface inside its namespace.</summary>
    public const string InterfaceName = "eth0";

    /// <summary>Nodes fit between .10 and the VIP at .100.</summary>
    public const int MaxNodes = 90;

    private const int FirstNode = 10;
    private const int VipOffset = 100;

    /// <summary>The host end's address (.1).</summary>
    public static IPAddress HostAddress(IPNetwork subnet) => Offset(subnet, 1);

    /// <summary>The topology as its nodes see it inside their namespaces.</summary>
    public static Topology Apply(Topology topology)
    {
        if (topology.InNetns)
        {
            return topology;
        }

        var subnet = topology.NetnsSubnet;
        var placed = topology.AllNodes.Select((node, i) => (node, Address: Offset(subnet, FirstNode + i))).ToDictionary(p => p.node.Name, p => p.Address);
        var vip = Offset(subnet, VipOffset);
        var moved = new Dictionary<IPAddress, IPAddress> { [topology.Vip.Address] = vip };
        foreach (var node in topology.AllNodes)
        {
            moved.TryAdd(node.Address.Address, placed[node.Name]);
        }

        NodeSpec Move(NodeSpec node)
        {
            if (node.Address.Port == node.Management.Port && !node.Address.Address.Equals(node.Management.Address))
            {
                throw new InvalidOperationException(
                    $"{node.Name}: address and management use the same port {node.Address.Port} on two addresses; under --netns a node has one address, so give management its own port");
            }

            var address = placed[node.Name];
            return node with { Address = new IPEndPoint(address, node.Address.Port), Management = new IPEndPoint(address, node.Management.Port) };
        }

        return topology with
        {
            Dns = Move(topology.Dns),
            LoadBalancers = [.. topology.LoadBalancers.Select(Move)],
            WebNodes = [.. topology.WebNodes.Select(Move)],
            AppNodes = [.. topology.AppNodes.Select(Move)],
            WebPools = [.. topology.WebPools.Select(p => p with { Nodes = [.. p.Nodes.Select(Move)] })],
            AppPools = [.. topology.AppPools.Select(p => p with { Nodes = [.. p.Nodes.Select(Move)] })],
            Database = topology.Database.Server is { } server ? topology.Database with { Server = Move(server) } : topology.Database,
            Vip = new IPEndPoint(vip, topology.Vip.Port),
            Vrrp = topology.Vrrp with { Interface = InterfaceName },
            InNetns = true,
            Zone = topology.Zone with
            {
                Records = topology.Zone.Records.ToImmutableDictionary(r => r.Key, r => moved.GetValueOrDefault(r.Value, r.Value)),
            },
        };
    }

    /// <summary>Whether <paramref name="subnet"/> lies inside 10/8, 172.16/12 or 192.168/16.</summary>
    public static bool IsPrivate(IPNetwork subnet) =>
        new[] { "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16" }
            .Select(IPNetwork.Parse)
            .Any(range => range.Contains(subnet.BaseAddress) && subnet.PrefixLength >= range.PrefixLength);

    private static IPAddress Offset(IPNetwork subnet, int offset)
    {
        var bytes = subnet.BaseAddress.GetAddressBytes();
        var value = ((uint)bytes[0] << 24 | (uint)bytes[1] << 16 | (uint)bytes[2] << 8 | bytes[3]) + (uint)offset;
        return new IPAddress([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);
    }
}
