using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;
using Strata.Proxy.Forwarding;
using Strata.Proxy.Forwarding.Http1;

namespace Strata.Proxy.Clients.Connections;

/// <summary>
/// Serves the plain requests of a client connection below Kestrel's HTTP layer, as a Kestrel connection middleware:
/// each request head is read from the connection's pipe, sent on by <see cref="Http1Forwarder"/> and the answer
/// written back to the pipe, with no <c>HttpContext</c> in between. At the first request it does not take (a body,
/// an upgrade, HTTP/1.0, anything unusual: <see cref="RequestHead"/>), it hands the connection to Kestrel with that
/// request unread, and Kestrel serves it and the rest of the connection through the Kestrel way in, with the same
/// pipeline (<see cref="UpstreamForwarder"/>). On a node with content of its own (<see cref="IConnectionContent"/>: the
/// web node's files), each request is offered to it first; what it leaves is handed to Kestrel there.
/// </summary>
/// <remarks>
/// Why below Kestrel: on the load balancer, Kestrel's HTTP layer (request parsing into header dictionaries, the
/// feature collection, the response's own headers and framing) cost about as much CPU per request as all of HAProxy
/// (measured: docs/benchmarks.md). The client timeout is kept by a heartbeat once a second (Kestrel's own is also
/// once a second), not by a timer per request.
/// </remarks>
internal sealed class ConnectionForwarder : IDisposable
{
    private readonly ConcurrentDictionary<ClientConnection, byte> _clients = new();
    private readonly Timer _heartbeat;

    private readonly bool _ownErrorWriter;

    /// <param name="forwarder">The node's pipeline.</param>
    /// <param name="proxyHeaders">The node's forwarded-header policy.</param>
    /// <param name="ownErrorWriter">Whether the node writes its errors with its own writer (error pages): only Kestrel's way in can, so this path is off.</param>
    /// <param name="content">The node's own content, offered each request first (the web node's files), or null.</param>
    public ConnectionForwarder(UpstreamForwarder forwarder, ProxyHeaders proxyHeaders, bool ownErrorWriter, IConnectionContent? content = null)
    {
        Content = content;
        Forwarder = forwarder;
        ProxyHeaders = proxyHeaders;
        ProxyName = forwarder.ProxyName;
        _ownErrorWriter = ownErrorWriter;
        _heartbeat = new Timer(static state => ((ConnectionForwarder)state!).Heartbeat(), this, 1000, 1000);
    }

    public UpstreamForwarder Forwarder { get; }

    public ProxyHeaders ProxyHeaders { get; }

    public string ProxyName { get; }

    /// <summary>The node's own content, offered each request before it is forwarded or handed over, or null.</summary>
    public IConnectionContent? Content { get; }

    /// <summary>
    /// Whether this path may serve requests itself now: not when a request must be seen whole to choose its server
    /// (hash balancing, a persistence cookie, in any pool) or errors have their own writer.
    /// </summary>
    public bool TakesRequests => !_ownErrorWriter && Forwarder.Backends.NoPoolReadsRequests;

    /// <summary>Serves <paramref name="context"/>'s requests until it closes, or hands it to <paramref name="next"/> (Kestrel's HTTP layer).</summary>
    /// <param name="context">The client's connection (decrypted, on a TLS listener).</param>
    /// <param name="next">Kestrel's HTTP layer.</param>
    /// <param name="https">Null for plain HTTP; over TLS, the header lines every answer carries (HSTS), maybe none.</param>
    public async Task ServeAsync(ConnectionContext context, ConnectionDelegate next, byte[]? https)
    {
        var client = new ClientConnection(this, context, https);
        _clients.TryAdd(client, 0);
        bool handOver;
        try
        {
            handOver = await client.RunAsync();
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            // The client's connection was reset or aborted while it was read: nothing to answer.
            return;
        }
        finally
        {
            _clients.TryRemove(client, out _);
        }

        if (handOver)
        {
            await next(context);
        }
    }

    public void Dispose() => _heartbeat.Dispose();

    private void Heartbeat()
    {
        var now = Environment.TickCount64;
        foreach (var (client, _) in _clients)
        {
            client.CheckDeadline(now);
        }
    }
}
