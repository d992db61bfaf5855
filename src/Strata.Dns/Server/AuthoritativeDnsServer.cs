using System.Net.Sockets;
using ARSoft.Tools.Net.Dns;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Strata.Dns.Zone;
using Strata.Topology;

namespace Strata.Dns.Server;

/// <summary>
/// Serves a <see cref="ZoneAuthority"/> over UDP and TCP on the node's address with ARSoft.Tools.Net,
/// for as long as the host runs.
/// </summary>
internal sealed class AuthoritativeDnsServer(NodeSpec node, ZoneAuthority authority, ILogger<AuthoritativeDnsServer> logger)
    : IHostedService, IDisposable
{
    private readonly Lock _lock = new();
    private DnsServer? _server;

    /// <summary>True while both the UDP and the TCP listener are bound.</summary>
    public bool IsListening
    {
        get
        {
            lock (_lock)
            {
                return _server is not null;
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var udp = new UdpServerTransport(node.Address);
        var tcp = new TcpServerTransport(node.Address);
        var server = new DnsServer(udp, tcp);
        server.QueryReceived += OnQueryReceivedAsync;
        server.ExceptionThrown += OnExceptionThrownAsync;

        try
        {
            // Binds both transports synchronously, then runs the accept loops on the thread pool: it does not block.
            server.Start();
        }
        catch (SocketException ex)
        {
            // Start binds UDP then TCP; when TCP fails the UDP socket is left bound, so release both.
            udp.Dispose();
            tcp.Dispose();
            throw new DnsBindException(node.Address, ex);
        }

        lock (_lock)
        {
            _server = server;
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
        DnsServer? server;
        lock (_lock)
        {
            server = _server;
            _server = null;
        }

        // Cancels the accept loops and open TCP connections, then closes both sockets; returns at once. ARSoft waits for
        // the loops it cancelled and, when one ends by its cancellation before it is waited for, rethrows that (seen
        // once in a CI run): a loop that ended cancelled is what stopping asked for.
        try
        {
            server?.Stop();
        }
        catch (AggregateException ex) when (ex.InnerExceptions.All(e => e is OperationCanceledException))
        {
        }

        return server is not null;
    }

    private Task OnQueryReceivedAsync(object sender, QueryReceivedEventArgs e)
    {
        // Other message kinds (dynamic updates) are left without a response, which ARSoft turns into SERVFAIL.
        if (e.Query is DnsMessage query)
        {
            e.Response = authority.Answer(query);
        }

        return Task.CompletedTask;
    }

    private Task OnExceptionThrownAsync(object sender, ExceptionEventArgs e)
    {
        DnsServerLog.QueryFailed(logger, node.Name, e.Exception);
        return Task.CompletedTask;
    }
}
