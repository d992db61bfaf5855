using System.Net;

namespace Strata.Topology;

/// <summary>The checks of the dashboard section: where <c>strata up</c> serves the live dashboard.</summary>
internal sealed partial class TopologyValidator
{
    private IPEndPoint? Dashboard(DashboardOptions? options)
    {
        if (options?.Enabled == false)
        {
            return null;
        }

        if (options?.Address is null)
        {
            return Topology.DefaultDashboard;
        }

        var address = Endpoint(options.Address, "dashboard.address", owner: "the dashboard");
        if (address is not null && !IPAddress.IsLoopback(address.Address))
        {
            // Its pages are read without a token and it has no TLS: on a network it would show the topology to anyone.
            Error("dashboard.address", $"'{options.Address}' is not a loopback address (e.g. \"127.0.0.1:8099\"); reach the dashboard from elsewhere through an SSH tunnel");
        }

        return address;
    }
}
