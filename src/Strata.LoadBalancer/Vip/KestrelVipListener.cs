using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Strata.Cluster.Election;
using Strata.Hosting;
using Strata.Proxy;
using Strata.Proxy.Clients.Kestrel;
using Strata.Topology;

namespace Strata.LoadBalancer.Vip;

/// <summary>
/// Listens on the VIP with a second Kestrel server that shares the node's forwarder, started when the
/// election makes this node master. Kestrel cannot add a listener to a running server, hence the second one.
/// The socket is bound with SO_REUSEPORT, so a new master can listen before the old one, stopping gracefully,
/// lets go: for that moment the kernel spreads new connections over both, and none is refused.
/// </summary>
internal sealed class KestrelVipListener(IPEndPoint vip, BackendSpec backend, IServiceProvider nodeServices) : IVipListener, IAsyncDisposable
{
    private WebApplication? _server;

    // Built ahead, not started: taking over then costs only the bind and Kestrel's start, not building a host.
    private WebApplication? _prepared;

    public async Task<bool> TryAcquireAsync(CancellationToken cancellationToken)
    {
        var server = _prepared ?? Build();
        _prepared = null;
        try
        {
            await server.StartAsync(cancellationToken);
        }
        catch (IOException)
        {
            // Held by a process that does not share it (not a Strata load balancer): the election retries.
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

        _prepared ??= Build();
    }

    /// <summary>Builds the server a later take-over starts (once at start, and again after each release).</summary>
    public void Prepare() => _prepared ??= Build();

    public async ValueTask DisposeAsync()
    {
        if (_server is { } server)
        {
            _server = null;
            await server.StopAsync(CancellationToken.None);
            await server.DisposeAsync();
        }

        if (_prepared is { } prepared)
        {
            _prepared = null;
            await prepared.DisposeAsync();
        }
    }

    private WebApplication Build()
    {
        var builder = WebApplication.CreateSlimBuilder();
        NodeHost.ConfigureLogging(builder.Logging);
        builder.WebHost.UseSockets(sockets =>
        {
            sockets.CreateBoundListenSocket = BindSharedListener;

            // Requests run on the thread that completed the socket operation, without a hand-off to a pool thread per
            // read (HAProxy's event loop): the load balancer does only non-blocking work on them. Kestrel does not take
            // this from DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS (set by `strata lb`), which only makes .NET's socket
            // engine complete inline; together, a request is read, forwarded and answered on the event thread.
            sockets.UnsafePreferInlineScheduling = true;
        });
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(vip, listen => listen.UseConnectionForwarding(nodeServices));
            k.ApplyClientTimeouts(backend);
        });
        var server = builder.Build();
        server.Run(nodeServices.GetRequiredService<KestrelForwarder>().ForwardAsync);
        return server;
    }

    private static Socket BindSharedListener(EndPoint endpoint)
    {
        const int SolSocket = 1;
        const int SoReusePort = 15;
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            // .NET has no name for SO_REUSEPORT (Linux: SOL_SOCKET 1, SO_REUSEPORT 15).
            socket.SetRawSocketOption(SolSocket, SoReusePort, BitConverter.GetBytes(1));
            socket.Bind(endpoint);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
