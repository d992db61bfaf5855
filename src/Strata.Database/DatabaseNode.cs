using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Strata.Database.Server;
using Strata.Hosting;
using Strata.Hosting.Metrics;
using Strata.Topology;
using TopologyModel = Strata.Topology.Topology;

namespace Strata.Database;

/// <summary>
/// The database node of a managed database (<c>"engine": "mysql", "managed": true</c> or <c>strata up --db
/// mysql</c>): a MariaDB server on the node's address, run and watched by this process, whose /healthz, /readyz and
/// /metrics (<see cref="MariaDbMetrics"/>) answer on the management address (ready while the server answers on its socket).
/// </summary>
public static class DatabaseNode
{
    /// <summary>Builds (does not start) the node; starting it starts the server and waits until it answers.</summary>
    /// <exception cref="ArgumentException"><paramref name="node"/> is not the topology's database node.</exception>
    /// <exception cref="DatabaseServerException">MariaDB is not installed (the message names the package).</exception>
    public static WebApplication Build(TopologyModel topology, NodeSpec node)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(node);
        if (node.Role != NodeRole.Database || !topology.Database.Nodes.Contains(node))
        {
            throw new ArgumentException($"Node '{node.Name}' is not the database node of this topology.", nameof(node));
        }

        var installation = MariaDbInstallation.Locate();
        var builder = NodeHost.CreateBuilder(topology, node, serveHttpOnAddress: false);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = MariaDbServer.StopGrace + TimeSpan.FromSeconds(2));
        builder.Services.AddSingleton(topology.Database);
        builder.Services.AddSingleton(installation);
        builder.Services.AddSingleton<MariaDbServer>();
        builder.Services.AddHostedService(services => services.GetRequiredService<MariaDbServer>());
        builder.Services.AddSingleton<IReadinessCheck, MariaDbReadinessCheck>();

        var app = builder.Build();
        MariaDbMetrics.Register(app.Services.Metrics(), app.Services.GetRequiredService<MariaDbServer>());
        app.MapManagement();
        return app;
    }
}
