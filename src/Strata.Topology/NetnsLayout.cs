using System.Collections.Immutable;
using System.Net;

namespace Strata.Topology;

/// <summary>
/// Where the nodes of a topology live under <c>strata up --netns</c>: each in its own network namespace with one
/// interface, <see cref="InterfaceName"/>, on <see cref="Topology.NetnsSubnet"/>. The host end of the one veth
/// into the host namespace gets the first address (.1), the nodes an address in their tier's block (below), the VIP .100; every port stays as written. A pure function of the topology file, so the orchestrator,
/// <c>status</c> and each node (started with <c>--netns</c>) agree on it without passing addresses around.
/// </summary>
public static class NetnsLayout
{
    /// <summary>The subnet when strata.json names none.</summary>
    public static readonly IPNetwork DefaultSubnet = IPNetwork.Parse("10.201.0.0/24");

    /// <summary>Each node's one interface inside its namespace.</summary>
    public const string InterfaceName = "eth0";

    /// <summary>
    /// Each tier's block of addresses (offsets in the subnet), fixed so that a tier can grow or shrink (<c>strata
    /// scale</c>) without moving any other node: the DNS node .10, load balancers .11–.19, web nodes .20–.49, app nodes
    /// .50–.89, the database servers .90–.98, the VIP .100. In the web and app blocks the default pool counts up from the
    /// start and the named pools down from the end.
    /// </summary>
    private static readonly (int First, int Last) DnsBlock = (10, 10), LoadBalancerBlock = (11, 19), WebBlock = (20, 49), AppBlock = (50, 89), DatabaseBlock = (90, 98);

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
        if (Problem(topology.LoadBalancers.Length, topology.AllWebNodes.Count(), topology.AllAppNodes.Count()) is { } problem)
        {
            throw new InvalidOperationException(problem);
        }

        var placed = new Dictionary<string, IPAddress>(StringComparer.Ordinal) { [topology.Dns.Name] = Offset(subnet, DnsBlock.First) };
        Place(placed, subnet, LoadBalancerBlock, topology.LoadBalancers, []);
        Place(placed, subnet, WebBlock, topology.WebNodes, topology.WebPools.SelectMany(p => p.Nodes));
        Place(placed, subnet, AppBlock, topology.AppNodes, topology.AppPools.SelectMany(p => p.Nodes));
        Place(placed, subnet, DatabaseBlock, topology.Database.Nodes, []);

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
            Database = topology.Database with { Nodes = [.. topology.Database.Nodes.Select(Move)] },
            Vip = new IPEndPoint(vip, topology.Vip.Port),
            Vrrp = topology.Vrrp with { Interface = InterfaceName },
            InNetns = true,
            Zone = topology.Zone with
            {
                Records = topology.Zone.Records.ToImmutableDictionary(r => r.Key, r => moved.GetValueOrDefault(r.Value, r.Value)),
            },
        };
    }

    /// <summary>Why a topology with these many nodes per tier does not fit the layout's blocks, or null.</summary>
    public static string? Problem(int loadBalancers, int webNodes, int appNodes)
    {
        foreach (var (tier, count, block) in new[] { ("load balancers", loadBalancers, LoadBalancerBlock), ("web nodes", webNodes, WebBlock), ("app nodes", appNodes, AppBlock) })
        {
            var room = block.Last - block.First + 1;
            if (count > room)
            {
                return $"the network layout of 'up --netns' has room for {room} {tier} (.{block.First}-.{block.Last}); the topology has {count}";
            }
        }

        return null;
    }

    /// <summary>The default pool's nodes from the start of <paramref name="block"/>, the named pools' from its end.</summary>
    private static void Place(Dictionary<string, IPAddress> placed, IPNetwork subnet, (int First, int Last) block, IEnumerable<NodeSpec> fromStart, IEnumerable<NodeSpec> fromEnd)
    {
        var offset = block.First;
        foreach (var node in fromStart)
        {
            placed[node.Name] = Offset(subnet, offset++);
        }

        offset = block.Last;
        foreach (var node in fromEnd)
        {
            placed[node.Name] = Offset(subnet, offset--);
        }
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
