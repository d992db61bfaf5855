using System.Net.Sockets;
using ARSoft.Tools.Net.Dns;
using ARSoft.Tools.Net.Dns.DynamicUpdate;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Strata.Dns.RateLimiting;
using Strata.Dns.Zone;
using Strata.Topology;

namespace Strata.Dns.Server;

/// <summary>
/// Serves a <see cref="ZoneAuthority"/> on the node's address for as long as the host runs: over UDP with
/// <see cref="UdpDnsListener"/> (rate limited), over TCP with ARSoft.Tools.Net's server (never limited: a TCP client's
/// address cannot be forged, and TCP is where a limited client is sent).
/// </summary>
internal sealed class AuthoritativeDnsServer(NodeSpec node, ZoneAuthority authority, ResponseRateLimiter limiter, DnsMetrics metrics, ILogger<AuthoritativeDnsServer> logger)
    : IHostedService, IDisposable
{
    private readonly Lock _lock = new();
    private UdpDnsListener? _udp;
    private DnsServer? _tcp;

    /// <summary>True while both the UDP and the TCP listener are bound.</summary>
    public bool IsListening
    {
        get
        {
            lock (_lock)
            {
                return _tcp is not null;
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var udp = new UdpDnsListener(node, authority, limiter, metrics, logger);
        var tcpTransport = new TcpServerTransport(node.Address);
        var tcp = new DnsServer(tcpTransport);
        tcp.QueryReceived += OnQueryReceivedAsync;
        tcp.ExceptionThrown += OnExceptionThrownAsync;

        try
        {
            // Binds UDP, then TCP synchronously; DnsServer then runs its accept loop on the thread pool: neither blocks.
            udp.Bind();
            tcp.Start();
        }
        catch (SocketException ex)
        {
            // When TCP fails the UDP socket is bound already, so release both.
            udp.Dispose();
            tcpTransport.Dispose();
            throw new DnsBindException(node.Address, ex);
        }

        udp.Start();
        lock (_lock)
        {
            _udp = udp;
            _tcp = tcp;
        }

        DnsServerLog.Started(logger, node.Name, authority.Apex.ToString().TrimEnd('.'), node.Address);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (Stop())
        {
            DnsServerLog.Stopped(logger, node.Name, node.Address);
        }

        return Task.CompletedTask;
    }

    public void Dispose() => Stop();

    private bool Stop()
    {
        UdpDnsListener? udp;
        DnsServer? tcp;
        lock (_lock)
        {
            (udp, tcp) = (_udp, _tcp);
            (_udp, _tcp) = (null, null);
        }

        udp?.Dispose();

        // Cancels the accept loop and open TCP connections, then closes the socket; returns at once. ARSoft waits for
        // the loops it cancelled and, when one ends by its cancellation before it is waited for, rethrows that (seen
        // once in a CI run): a loop that ended cancelled is what stopping asked for.
        try
        {
            tcp?.Stop();
        }
        catch (AggregateException ex) when (ex.InnerExceptions.All(e => e is OperationCanceledException))
        {
        }

        return tcp is not null;
    }

    private Task OnQueryReceivedAsync(object sender, QueryReceivedEventArgs e)
    {
        // ARSoft parses an UPDATE (RFC 2136) into a message type of its own; no zone here takes updates.
        e.Response = e.Query switch
        {
            DnsMessage query => authority.Answer(query),
            DnsUpdateMessage update => NotImplemented(update.CreateResponseInstance()),
            _ => null,
        };
        if (e.Response is { } response)
        {
            metrics.Answered(tcp: true, e.Query as DnsMessage, response.ReturnCode);
        }

        return Task.CompletedTask;
    }

    private static DnsUpdateMessage NotImplemented(DnsUpdateMessage response)
    {
        response.ReturnCode = ReturnCode.NotImplemented;
        return response;
    }

    private Task OnExceptionThrownAsync(object sender, ExceptionEventArgs e)
    {
        DnsServerLog.QueryFailed(logger, node.Name, e.Exception);
        return Task.CompletedTask;
    }
}
