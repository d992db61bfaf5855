using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Strata.Cluster.Election;
using Strata.Hosting;
using Strata.Proxy;
using Strata.Proxy.Forwarding;
using Strata.Topology;

namespace Strata.LoadBalancer.Vip;

/// <summary>
/// Listens on the VIP with a second Kestrel server that shares the node's forwarder, started when the
/// election makes this node master. Kestrel cannot add a listener to a running server, hence the second one.
/// </summary>
internal sealed class KestrelVipListener(IPEndPoint vip, BackendSpec backend, UpstreamForwarder forwarder) : IVipListener, IAsyncDisposable
{
    private WebApplication? _server;

    public async Task<bool> TryAcquireAsync(CancellationToken cancellationToken)
    {
        // A bare bind first: cheap enough to repeat every few hundred milliseconds while another node holds it.
        if (!IsFree(vip))
        {
            return false;
        }

        var builder = WebApplication.CreateSlimBuilder();
        NodeHost.ConfigureLogging(builder.Logging);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(vip);
            k.ApplyClientTimeouts(backend);
        });
        var server = builder.Build();
        server.Run(forwarder.ForwardAsync);
        try
        {
            await server.StartAsync(cancellationToken);
        }
        catch (IOException)
        {
            // Another node bound it between the probe and the start.
            await server.DisposeAsync();
            return false;
        }

        _server = server;
        return true;
    }

    public async Task ReleaseAsync(CancellationToken cancellationToken)
    {
        if (_server is { } server)
        {
            _server = null;
            await server.StopAsync(cancellationToken);
            await server.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync() => await ReleaseAsync(CancellationToken.None);

    private static bool IsFree(IPEndPoint endpoint)
    {
        using var probe = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        // As Kestrel does on Linux, so that connections of a dead master still in TIME_WAIT do not block the bind.
        probe.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        try
        {
            probe.Bind(endpoint);
            probe.Listen();
            return true;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            return false;
        }
    }
}
