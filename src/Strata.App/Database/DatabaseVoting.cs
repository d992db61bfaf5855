using Microsoft.AspNetCore.Routing;
using Strata.Data.Managed;
using Strata.Hosting.Leases;
using Strata.Topology;

namespace Strata.App.Database;

/// <summary>
/// The app node's vote on who is the database primary (docs/database.md, "Who is primary"): the first (database nodes
/// − 1) app nodes vote beside the database nodes, so that when two database nodes lose each other the one an app node
/// can still reach keeps or takes the lease.
/// </summary>
internal static class DatabaseVoting
{
    /// <summary>Maps <c>POST /lease/database</c> when this node is one of the voters.</summary>
    public static void MapDatabaseVoting(this RouteGroupBuilder management, Topology.Topology topology, NodeSpec node)
    {
        if (topology.Database.Nodes.Length > 1 && ManagedDatabase.Voters(topology).Contains(node))
        {
            management.MapLeaseVoting(new LeaseVoter(TimeProvider.System), ManagedDatabaseAccount.LeaseToken(topology.Database));
        }
    }
}
