using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Strata.Data.Managed;
using Strata.Database.Replication;
using Strata.Database.Server;
using Strata.Hosting.Admin;
using Strata.Hosting.Leases;
using Strata.Hosting;
using Strata.Hosting.Metrics;
using Strata.Topology;
using TopologyModel = Strata.Topology.Topology;

namespace Strata.Database;

/// <summary>
/// A database node of a managed database (<c>"engine": "mysql", "managed": true</c> or <c>strata up --db
/// mysql</c>): a MariaDB server on the node's address, run and watched by this process, the primary or a replica as
/// its <see cref="ReplicationAgent"/> decides; /healthz, /readyz (the server answers on its socket, and the node is
/// the primary or a replica that replicates), /metrics (<see cref="MariaDbMetrics"/>), /db/state, /db/switchover
/// (admin token) and its vote on the primary's lease answer on the management address.
/// </summary>
public static class DatabaseNode
{
    /// <summary>Builds (does not start) the node; starting it starts the server and waits until it answers.</summary>
    /// <exception cref="ArgumentException"><paramref name="node"/> is not one of the topology's database nodes.</exception>
    /// <exception cref="DatabaseServerException">MariaDB is not installed (the message names the package).</exception>
    public static WebApplication Build(TopologyModel topology, NodeSpec node)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(node);
        if (node.Role != NodeRole.Database || !topology.Database.Nodes.Contains(node))
        {
            throw new ArgumentException($"Node '{node.Name}' is not one of this topology's database nodes.", nameof(node));
        }

        var installation = MariaDbInstallation.Locate();
        var database = topology.Database;
        // The first node to start creates the shared password files; the lease token is derived from one of them.
        ManagedDatabaseAccount.CreateOrReadPassword(database);
        var builder = NodeHost.CreateBuilder(topology, node, serveHttpOnAddress: false);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = MariaDbServer.StopGrace + TimeSpan.FromSeconds(2));
        builder.Services.AddSingleton(database);
        builder.Services.AddSingleton(installation);
        builder.Services.AddSingleton<MariaDbServer>();
        builder.Services.AddHostedService(services => services.GetRequiredService<MariaDbServer>());
        builder.Services.AddSingleton<IReadinessCheck, MariaDbReadinessCheck>();
        builder.Services.AddSingleton(TimeProvider.System);
        // The node's own vote remembers, across a crash, that it wrote alone: its other voter (app-1) may be all that
        // is left of that mark otherwise, and a replica with the restarted voter would make a majority without it.
        var writtenAlone = File.Exists(MariaDbServer.AloneMarkerIn(ManagedDatabase.NodeFolder(database, node.Name))) ? node.Name : null;
        builder.Services.AddSingleton(services => new LeaseVoter(services.GetRequiredService<TimeProvider>(), writtenAlone));
        builder.Services.AddSingleton(services => new MariaDbReplication(
            services.GetRequiredService<MariaDbServer>(),
            installation,
            ManagedDatabaseAccount.CreateOrReadPassword(database, ManagedDatabase.ReplicationPasswordFileName)));
        builder.Services.AddSingleton(services => new ClusterPeers(
            node,
            database.Nodes,
            ManagedDatabase.Voters(topology),
            services.GetRequiredService<LeaseVoter>(),
            ManagedDatabaseAccount.LeaseToken(database)));
        builder.Services.AddSingleton<ReplicationAgent>();
        builder.Services.AddHostedService(services => services.GetRequiredService<ReplicationAgent>());
        builder.Services.AddSingleton<IReadinessCheck>(services => services.GetRequiredService<ReplicationAgent>());

        var app = builder.Build();
        var agent = app.Services.GetRequiredService<ReplicationAgent>();
        MariaDbMetrics.Register(app.Services.Metrics(), app.Services.GetRequiredService<MariaDbServer>(), agent);
        var management = app.MapManagement();
        management.MapGet(DatabaseState.Path, () => Results.Json(agent.State));
        management.MapLeaseVoting(app.Services.GetRequiredService<LeaseVoter>(), ManagedDatabaseAccount.LeaseToken(database));
        var adminToken = AdminToken.Resolve(topology.AdminToken);
        management.MapPost("/db/switchover", async (HttpContext context, string to, CancellationToken cancellationToken) =>
        {
            if (adminToken is null || !adminToken.Matches(context.Request.Headers.Authorization))
            {
                return Results.Unauthorized();
            }

            return await agent.SwitchoverAsync(to, cancellationToken) is { } refusal
                ? Results.Conflict(new { error = refusal })
                : Results.Json(new { from = node.Name, to });
        });
        return app;
    }
}
