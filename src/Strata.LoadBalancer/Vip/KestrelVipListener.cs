using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Strata.Cluster.Election;
using Strata.Hosting;
using Strata.Hosting.WarmUp;
using Strata.Proxy;
using Strata.Proxy.Clients.Connections;
using Strata.Proxy.Clients.Kestrel;
using Strata.Topology;

namespace Strata.LoadBalancer.Vip;

/// <summary>
/// Listens on the VIP with a second Kestrel server that shares the node's forwarder, started when the
/// election makes this node master. Kestrel cannot add a listener to a running server, hence the second one.
/// The socket is bound with SO_REUSEPORT, so a new master can listen before the old one, stopping gracefully,
/// lets go: for that moment the kernel spreads new connections over both, and none is refused.
/// </summary>
/// <remarks>
/// With <c>vip.tls</c>, the same server also listens for HTTPS on the VIP's address (<see cref="VipCertificates"/>),
/// HTTP/1.1 and HTTP/2 by ALPN, through Kestrel's HTTP layer into the node's one pipeline; HTTP/2's limits are set
/// here, each next to HAProxy's (docs/tls.md). The node's client timeouts (a client that reads nothing of its answer
/// too: <see cref="SendTimeout"/>) and the web tier's client limits hold on the VIP too (a body no web node takes is
/// refused at the edge).
/// </remarks>
internal sealed class KestrelVipListener(IPEndPoint vip, BackendSpec backend, WebSpec web, IServiceProvider nodeServices, VipTlsSpec? tls = null, VipCertificates? certificates = null, NodeWarmUp? warmUp = null) : IVipListener, IAsyncDisposable
{
    private WebApplication? _server;

    // Built ahead, not started: taking over then costs only the bind and Kestrel's start, not building a host.
    private WebApplication? _prepared;

    /// <summary>Not before the node's warm-up is over (<see cref="VipWarmUp"/>): the VIP's first clients do not wait for the JIT.</summary>
    public bool IsReady => warmUp?.IsOver ?? true;

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
            var limiter = nodeServices.GetRequiredService<ConnectionLimiter>();
            k.Listen(vip, listen =>
            {
                listen.Use(limiter.Middleware(plainHttp: true));
                listen.UseSendTimeout(backend.ClientTimeout);
                listen.UseConnectionForwarding(nodeServices);
            });
            k.ApplyClientTimeouts(backend);
            k.ApplyClientLimits(web);
            if (tls is not null && certificates is not null)
            {
                k.Listen(new IPEndPoint(vip.Address, tls.Port), listen =>
                {
                    listen.Protocols = HttpProtocols.Http1AndHttp2;
                    // Ahead of the handshake: a refused connection costs no TLS work.
                    listen.Use(limiter.Middleware(plainHttp: false));
                    listen.UseSendTimeout(backend.ClientTimeout);
                    listen.UseHttps(new TlsHandshakeCallbackOptions
                    {
                        OnConnection = context => ValueTask.FromResult(certificates.OptionsFor(context.ClientHelloInfo.ServerName)),
                        HandshakeTimeout = backend.ClientTimeout < TimeSpan.FromSeconds(10) ? backend.ClientTimeout : TimeSpan.FromSeconds(10),
                    });
                    // HTTP/1.1 over TLS takes the same connection path as plain HTTP; h2 goes to Kestrel's HTTP/2.
                    listen.UseConnectionForwarding(nodeServices, https: Encoding.ASCII.GetBytes(tls.Hsts is { } hsts ? $"Strict-Transport-Security: {hsts.HeaderValue}\r\n" : ""));
                });
                ApplyHttp2Limits(k.Limits.Http2);
            }
        });

        var server = builder.Build();
        if (tls?.Hsts is { } strict)
        {
            // Only on HTTPS answers (RFC 6797 §7.2), whatever the host (the VIP is often a private address), with the value
            // the connection path writes. ASP.NET's UseHsts does the same but for its excluded hosts and its own format.
            var value = strict.HeaderValue;
            server.Use((context, next) =>
            {
                if (context.Request.IsHttps)
                {
                    context.Response.Headers.StrictTransportSecurity = value;
                }

                return next(context);
            });
        }

        server.Run(nodeServices.GetRequiredService<KestrelForwarder>().ForwardAsync);
        return server;
    }

    /// <summary>
    /// HTTP/2's limits, each deliberate (docs/tls.md has them beside HAProxy's): 100 concurrent streams per connection
    /// (HAProxy's tune.h2.max-concurrent-streams), a 4 KiB HPACK table, 16 KiB frames, 32 KiB of request headers
    /// (Kestrel refuses a header block beyond it however many CONTINUATION frames carry it; more than 8 CONTINUATION
    /// frames cut the connection off: Http2FrameGuard; CVE-2024-27316's family),
    /// windows of 1 MiB per connection and 768 KiB per stream. Kestrel counts streams a client opens and resets at once
    /// and closes a connection that does it too often (rapid reset, CVE-2023-44487).
    /// </summary>
    private static void ApplyHttp2Limits(Http2Limits limits)
    {
        limits.MaxStreamsPerConnection = 100;
        limits.HeaderTableSize = 4096;
        limits.MaxFrameSize = 16 * 1024;
        limits.MaxRequestHeaderFieldSize = 32 * 1024;
        limits.InitialConnectionWindowSize = 1024 * 1024;
        limits.InitialStreamWindowSize = 768 * 1024;
        limits.KeepAlivePingDelay = TimeSpan.FromSeconds(30);
        limits.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
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
