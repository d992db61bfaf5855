using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Strata.App.Database;
using Strata.App.Diagnostics;
using Strata.Hosting;
using Strata.Hosting.Metrics;
using Strata.Topology;
using TopologyModel = Strata.Topology.Topology;

namespace Strata.App.External;

/// <summary>
/// An app node running the user's own HTTP application (<see cref="TopologyModel.AppCommand"/>): the node listens on
/// its address and management address as every node does, runs the application as a supervised child process on a
/// loopback port of its own, and forwards every request to it, so the web tier treats it as any app node.
/// /readyz is ready while the application answers its health path with 2xx.
/// </summary>
public static class ExternalAppNode
{
    /// <summary>Builds (does not start) the node; starting it starts the application.</summary>
    /// <exception cref="ArgumentException"><paramref name="node"/> is not an app node of this topology, or the topology has no app command.</exception>
    public static WebApplication Build(TopologyModel topology, NodeSpec node)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(node);
        if (node.Role != NodeRole.App || !topology.AllAppNodes.Contains(node))
        {
            throw new ArgumentException($"Node '{node.Name}' is not an app node of this topology.", nameof(node));
        }

        var command = topology.AppCommand ?? throw new ArgumentException("The topology has no app.command.", nameof(topology));
        var builder = NodeHost.CreateBuilder(topology, node);
        builder.Services.AddSingleton(topology);
        builder.Services.AddSingleton(command);
        builder.Services.AddSingleton<AppProcessSupervisor>();
        builder.Services.AddHostedService(services => services.GetRequiredService<AppProcessSupervisor>());
        builder.Services.AddSingleton<IReadinessCheck, AppProcessReadinessCheck>();
        builder.Services.AddHttpForwarder();
        builder.Services.AddSingleton<AppProcessForwarder>();

        var app = builder.Build();
        var forwarder = app.Services.GetRequiredService<AppProcessForwarder>();
        app.UseServedRequestMetrics();
        app.UseServedBy(node.Name);
        if (!node.Management.Equals(node.Address))
        {
            // Everything on the node's address is the application's, /healthz and /readyz included.
            app.Use((context, next) => IsManagement(context, node) ? next(context) : forwarder.ForwardAsync(context));
        }

        app.MapManagement().MapDatabaseVoting(topology, node);
        app.Map("{**path}", forwarder.ForwardAsync);
        return app;
    }

    private static bool IsManagement(HttpContext context, NodeSpec node) =>
        context.Connection.LocalPort == node.Management.Port && node.Management.Address.Equals(context.Connection.LocalIpAddress);
}
