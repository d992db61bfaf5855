using System.Net;
using System.Net.Sockets;

namespace Strata.Topology;

/// <summary>The checks of the netns section: the subnet of up --netns.</summary>
internal sealed partial class TopologyValidator
{
    private IPNetwork NetnsSubnet(string? value, int loadBalancers, int webNodes, int appNodes)
    {
        if (value is null)
        {
            return NetnsLayout.DefaultSubnet;
        }

        if (!IPNetwork.TryParse(value, out var subnet) || subnet.BaseAddress.AddressFamily != AddressFamily.InterNetwork)
        {
            Error("netns.subnet", $"'{value}' is not an IPv4 subnet (e.g. \"10.201.0.0/24\")");
            return NetnsLayout.DefaultSubnet;
        }

        if (subnet.PrefixLength is < 16 or > 24)
        {
            Error("netns.subnet", $"'{value}' must be a /16 to /24");
        }
        else if (!NetnsLayout.IsPrivate(subnet))
        {
            // The host gets a route for this subnet: a public range would hijack real addresses.
            Error("netns.subnet", $"'{value}' is not inside a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)");
        }
        else if (NetnsLayout.Problem(loadBalancers, webNodes, appNodes) is { } problem)
        {
            Error("netns.subnet", problem);
        }

        return subnet;
    }
}
