using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Strata.Dns.RateLimiting;
using Strata.Dns.Server;
using Strata.Dns.Zone;
using Strata.Hosting;
using Strata.Hosting.Metrics;

namespace Strata.Dns;

/// <summary>
/// The DNS node: an authoritative server for the topology's zone on the node's address (UDP, rate limited per client
/// network, and TCP), with /healthz, /readyz and /metrics (<see cref="DnsMetrics"/>) over HTTP on its management address.
/// </summary>
public static class DnsNode
{
    /// <summary>
    /// Builds the node; the caller runs it. Starting it binds the DNS address and throws
    /// <see cref="DnsBindException"/> when that fails.
    /// </summary>
    public static WebApplication Build(Strata.Topology.Topology topology)
    {
        ArgumentNullException.ThrowIfNull(topology);

        var node = topology.Dns;
        var builder = NodeHost.CreateBuilder(topology, node, serveHttpOnAddress: false);
        builder.Services.AddSingleton(new ZoneAuthority(topology.Zone, node.Address.Address));
        builder.Services.AddSingleton(sp => new ResponseRateLimiter(
            topology.DnsRateLimit, node.Name, sp.GetRequiredService<ILogger<ResponseRateLimiter>>(), sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton(sp => new DnsMetrics(sp.Metrics()));
        builder.Services.AddSingleton<AuthoritativeDnsServer>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AuthoritativeDnsServer>());
        builder.Services.AddSingleton<IReadinessCheck, DnsListenerReadinessCheck>();

        var app = builder.Build();
        app.MapManagement();
        return app;
    }
}
