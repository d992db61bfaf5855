using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Strata.Hosting;
using Strata.Hosting.Processes;
using Strata.Hosting.WarmUp;
using Strata.Proxy;
using Strata.Proxy.Clients.Connections;
using Strata.Proxy.RequestLog;
using Strata.Proxy.Upstreams;
using Strata.Topology;

namespace Strata.LoadBalancer.Vip;

/// <summary>
/// Where a load balancer sends its warm-up requests (<see cref="NodeWarmUp"/>): a server of its own on loopback, built
/// as the VIP's listener is (the node's pipeline on the connection path, inline scheduling, the same limits and
/// timeouts), forwarding to a pool of one, its own management listener, which answers <c>/healthz</c>. So the code of
/// the VIP's way through is compiled before the node takes the VIP, with no request to the web tier (whose access logs
/// would show them) and nothing in the node's request log or metrics (the server has no metrics, and its request log, in
/// the node's format, goes to /dev/null). Stopped when the warm-up is over.
/// </summary>
internal static class VipWarmUp
{
    private static readonly TimeSpan PoolCheckInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>Starts the server and waits until its pool of one is up.</summary>
    public static async Task<WarmUpTarget> StartAsync(Topology.Topology topology, NodeSpec node, CancellationToken cancellationToken)
    {
        var management = new IPEndPoint(IPAddress.Loopback, FreePorts.Tcp());
        var address = new IPEndPoint(IPAddress.Loopback, FreePorts.Tcp());
        var self = node with { Address = address, Management = management };
        var check = topology.WebBackend.HealthCheck with { Path = NodeHost.HealthPath, Interval = PoolCheckInterval, FastInterval = PoolCheckInterval, Rise = 1 };
        var warmUp = topology with
        {
            LoadBalancers = [self],
            WebNodes = [new NodeSpec("warm-up", NodeRole.Web, management, management)],
            WebPools = [],
            WebBackend = topology.WebBackend with { HealthCheck = check },
            LoadBalancerRoutes = [],
            VipTls = null,
            // Written as the node's is, to nowhere: its formatting is compiled too.
            RequestLog = topology.RequestLog is { } log ? log with { Path = "/dev/null" } : null,
            Telemetry = null,
        };

        var limiter = new ConnectionLimiter(topology.VipConnections, NullLogger<ConnectionLimiter>.Instance);
        var builder = NodeHost.CreateBuilder(warmUp, self, configureListen: listen =>
            {
                if (listen.IPEndPoint is { } bound && bound.Equals(address))
                {
                    listen.Use(limiter.Middleware(plainHttp: true));
                    listen.UseSendTimeout(warmUp.WebBackend.ClientTimeout);
                    listen.UseConnectionForwarding();
                }
            })
            .AddForwardingTo(warmUp, self, t => t.AllWebPools, t => t.LoadBalancerRoutes, requireHealthyUpstream: true, servesOnlyForwarded: true);
        builder.Services.AddRequestLog(warmUp, self);
        builder.Logging.ClearProviders();
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ApplyClientLimits(warmUp.Web));
        var app = builder.Build();
        app.MapForwarding(app.MapManagement(), warmUp);
        try
        {
            await app.StartAsync(cancellationToken);
            var pool = app.Services.GetRequiredService<UpstreamPool>();
            while (!pool.CanServe)
            {
                await Task.Delay(PoolCheckInterval, cancellationToken);
            }
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return new WarmUpTarget(new Uri($"http://{address}"), [NodeHost.HealthPath], app);
    }
}
