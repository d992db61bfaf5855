using System.Net;
using System.Security.Cryptography;
using System.Text;
using Strata.Topology;

namespace Strata.Orchestration.Netns;

/// <summary>
/// The names of one <c>up --netns</c> run's namespaces and links, recorded in the run file so that <c>down</c>
/// removes exactly what <c>up</c> made. Derived from the run folder, so two topologies in two folders never clash.
/// </summary>
/// <param name="Prefix">Start of every namespace name, e.g. <c>strata-1a2b3c</c>.</param>
/// <param name="Subnet">The private subnet.</param>
/// <param name="Ports">Each node's port on the switch (a veth end in the switch namespace), by node name.</param>
public sealed record NetnsRun(string Prefix, string Subnet, IReadOnlyDictionary<string, string> Ports)
{
    /// <summary>The namespace of the switch (a Linux bridge, <c>br0</c>).</summary>
    public string SwitchNamespace => $"{Prefix}-switch";

    /// <summary>The host end of the one veth into the host namespace (at most 15 characters).</summary>
    public string HostLink => Prefix.Replace("-", "", StringComparison.Ordinal);

    /// <summary>The namespace node <paramref name="node"/> runs in.</summary>
    public string Namespace(string node) => $"{Prefix}-{node}";

    /// <summary>These names with a switch port for a node added to the run (<c>strata scale</c>).</summary>
    public NetnsRun With(string node) =>
        this with { Ports = new Dictionary<string, string>(Ports) { [node] = $"n{Ports.Values.Select(p => int.Parse(p.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(-1).Max() + 1}" } };

    /// <summary>These names without a node taken out of the run.</summary>
    public NetnsRun Without(string node) => this with { Ports = Ports.Where(p => p.Key != node).ToDictionary(p => p.Key, p => p.Value) };

    /// <summary>The names for <paramref name="topology"/> run from <paramref name="runRoot"/>.</summary>
    public static NetnsRun For(string runRoot, Topology.Topology topology)
    {
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(runRoot)).AsSpan(0, 3)).ToLowerInvariant();
        var ports = topology.AllNodes.Select((node, index) => (node.Name, Port: $"n{index}")).ToDictionary(p => p.Name, p => p.Port);
        return new NetnsRun($"strata-{hash}", topology.NetnsSubnet.ToString(), ports);
    }
}

/// <summary>
/// Builds and removes the network of <c>up --netns</c> with iproute2: every node in a namespace of its own with one
/// interface (eth0) on the topology's private subnet, all joined by a bridge that lives in a namespace of its own,
/// and one veth into the host namespace whose host end has the subnet's first address, so the host has a route
/// for that subnet and nothing else (DESIGN.md, safety): no NAT, no default route in any namespace.
/// </summary>
internal static class NetnsNetwork
{
    /// <summary>Why the network cannot be built here, or null when it can (root, iproute2, a free subnet, no leftovers).</summary>
    public static async Task<string?> CheckAsync(NetnsRun run, Topology.Topology layout)
    {
        if (!OperatingSystem.IsLinux() || !Environment.IsPrivilegedProcess)
        {
            return "--netns needs root on Linux (it creates network namespaces, veths and a bridge)";
        }

        if (layout.Vrrp.ActiveActive)
        {
            return "vip.mode active-active shares one listening port on one host (SO_REUSEPORT); with a host per load balancer only the master holds the VIP: use active-passive with --netns";
        }

        try
        {
            if (await ExistsAsync(run))
            {
                return $"namespaces {run.Prefix}-* already exist (left by an earlier run of this topology?): 'strata down' removes them";
            }

            var routes = await IpCommand.CheckedAsync("ip", "-4", "-o", "route", "show");
            foreach (var destination in routes.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]))
            {
                if (IPNetwork.TryParse(destination.Contains('/', StringComparison.Ordinal) ? destination : destination + "/32", out var route)
                    && (route.Contains(layout.NetnsSubnet.BaseAddress) || layout.NetnsSubnet.Contains(route.BaseAddress)))
                {
                    return $"subnet {layout.NetnsSubnet} overlaps this host's route to {destination}: set netns.subnet in {layout.SourcePath} to a free private subnet";
                }
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "--netns needs iproute2 ('ip'; apt-get install iproute2)";
        }

        return null;
    }

    /// <summary>Whether any namespace of <paramref name="run"/> exists (false without root or iproute2).</summary>
    public static async Task<bool> ExistsAsync(NetnsRun run)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            return false;
        }

        try
        {
            var (exitCode, list) = await IpCommand.RunAsync("ip", "netns", "list");
            return exitCode == 0 && list.Split('\n').Any(line => line.StartsWith(run.Prefix + "-", StringComparison.Ordinal));
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    /// <summary>Creates the switch, one namespace per node and the host's veth. On failure the caller runs <see cref="DeleteAsync"/>.</summary>
    public static async Task CreateAsync(NetnsRun run, Topology.Topology layout)
    {
        var prefixLength = layout.NetnsSubnet.PrefixLength;
        await AddNamespaceAsync(run.SwitchNamespace);
        await IpCommand.CheckedAsync("ip", "-n", run.SwitchNamespace, "link", "add", "br0", "type", "bridge");
        await IpCommand.CheckedAsync("ip", "-n", run.SwitchNamespace, "link", "set", "br0", "up");
        foreach (var node in layout.AllNodes)
        {
            await AddNodeAsync(run, node, prefixLength);
        }

        await IpCommand.CheckedAsync("ip", "link", "add", run.HostLink, "type", "veth", "peer", "name", "host", "netns", run.SwitchNamespace);
        await IpCommand.CheckedAsync("ip", "-n", run.SwitchNamespace, "link", "set", "host", "master", "br0", "up");
        await IpCommand.CheckedAsync("ip", "addr", "add", $"{NetnsLayout.HostAddress(layout.NetnsSubnet)}/{prefixLength}", "dev", run.HostLink);
        await IpCommand.CheckedAsync("ip", "link", "set", run.HostLink, "up");
    }

    /// <summary>
    /// A node's namespace with its one interface on the subnet, joined to the switch at its port (at <c>up</c>, and for
    /// a node <c>strata scale</c> adds).
    /// </summary>
    public static async Task AddNodeAsync(NetnsRun run, NodeSpec node, int prefixLength)
    {
        var ns = run.Namespace(node.Name);
        var port = run.Ports[node.Name];
        await AddNamespaceAsync(ns);
        // Made straight between the two namespaces: the node's link never appears in the host namespace.
        await IpCommand.CheckedAsync("ip", "-n", ns, "link", "add", NetnsLayout.InterfaceName, "type", "veth", "peer", "name", port, "netns", run.SwitchNamespace);
        await IpCommand.CheckedAsync("ip", "-n", run.SwitchNamespace, "link", "set", port, "master", "br0", "up");
        await IpCommand.CheckedAsync("ip", "-n", ns, "addr", "add", $"{node.Address.Address}/{prefixLength}", "dev", NetnsLayout.InterfaceName);
        await IpCommand.CheckedAsync("ip", "-n", ns, "link", "set", NetnsLayout.InterfaceName, "up");
    }

    /// <summary>A node's namespace removed (its veth goes with it): <c>strata scale</c> took the node out.</summary>
    public static Task RemoveNodeAsync(NetnsRun run, string node) => IpCommand.CheckedAsync("ip", "netns", "del", run.Namespace(node));

    /// <summary>
    /// Removes every namespace of the run (their veths go with them, the host's too, whose other end is in the
    /// switch namespace). What is already gone is fine. Returns what could not be removed.
    /// </summary>
    public static async Task<IReadOnlyList<string>> DeleteAsync(NetnsRun run)
    {
        var failed = new List<string>();
        foreach (var ns in run.Ports.Keys.Select(run.Namespace).Append(run.SwitchNamespace))
        {
            var (exitCode, output) = await IpCommand.RunAsync("ip", "netns", "del", ns);
            if (exitCode != 0 && !output.Contains("No such file", StringComparison.Ordinal))
            {
                failed.Add($"{ns}: {output.Trim()}");
            }
        }

        // Normally gone with the switch namespace (the kernel finishes that in the background, so it may vanish
        // between our two commands); removed by name if a half-made run left it alone.
        var (linkCode, _) = await IpCommand.RunAsync("ip", "link", "show", run.HostLink);
        if (linkCode == 0 && await IpCommand.RunAsync("ip", "link", "del", run.HostLink) is { ExitCode: not 0 } del
            && !IsGone(del.Output))
        {
            failed.Add($"{run.HostLink}: {del.Output.Trim()}");
        }

        return failed;
    }

    /// <summary>A drill: <paramref name="node"/>'s link down (the host cut off), or up again.</summary>
    public static Task SetLinkAsync(NetnsRun run, string node, bool up) =>
        IpCommand.CheckedAsync("ip", "-n", run.Namespace(node), "link", "set", NetnsLayout.InterfaceName, up ? "up" : "down");

    /// <summary>
    /// A drill: isolated switch ports cannot reach each other but still reach every other port, so isolating two
    /// load balancers cuts the link between them alone (split brain) while the host still sees both.
    /// </summary>
    public static Task SetIsolatedAsync(NetnsRun run, string node, bool isolated) =>
        IpCommand.CheckedAsync("bridge", "-n", run.SwitchNamespace, "link", "set", "dev", run.Ports[node], "isolated", isolated ? "on" : "off");

    // "Cannot find device" when it was gone before the command; "RTNETLINK answers: No such device" when the
    // kernel removed it (with the switch namespace) while the command ran.
    private static bool IsGone(string output) =>
        output.Contains("Cannot find device", StringComparison.Ordinal) || output.Contains("No such device", StringComparison.Ordinal);

    private static async Task AddNamespaceAsync(string ns)
    {
        await IpCommand.CheckedAsync("ip", "netns", "add", ns);
        await IpCommand.CheckedAsync("ip", "-n", ns, "link", "set", "lo", "up");
    }
}
