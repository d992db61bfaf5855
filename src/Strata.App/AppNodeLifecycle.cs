using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Strata.Data.Messages;
using Strata.Data;
using Strata.Data.Bench;
using Strata.Topology;
using TopologyModel = Strata.Topology.Topology;

namespace Strata.App;

/// <summary>
/// Initializes the database in <see cref="StartingAsync"/>, which the host runs before any service starts
/// (Kestrel included), so the node never serves a request against a missing schema — the guestbook's, then the
/// benchmark tables where the benchmark endpoints are on; logs once when serving.
/// </summary>
internal sealed partial class AppNodeLifecycle(
    IMessageStore store,
    IEnumerable<IWorldStore> worlds,
    NodeSpec node,
    TopologyModel topology,
    IServer server,
    ILogger<AppNodeLifecycle> logger) : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        await store.InitializeAsync(cancellationToken);
        foreach (var world in worlds)
        {
            await world.InitializeAsync(cancellationToken);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken)
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var database = topology.Database switch
        {
            { Managed: true, Nodes: var servers } => $"the MariaDB servers {string.Join(", ", servers.Select(s => $"{s.Name} at {s.Address}"))}",
            { Engine: "mysql" } => "a MySQL server",
            { Path: var path } => $"the SQLite file {path}",
        };
        LogStarted(logger, node.Name, topology.Zone.Zone, string.Join(", ", addresses), database);
        return Task.CompletedTask;
    }

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Node} serving {Site} on {Addresses} with {Database}")]
    private static partial void LogStarted(ILogger logger, string node, string site, string addresses, string database);
}
