using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
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
/// web node's files), each request is offered to it first; what it leaves is forwarded here when the content says so
/// (<see cref="IConnectionContent.Forwards"/>), else handed to Kestrel.
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
    /// <param name="errorWriter">
    /// The node's own error writer (error pages), or null for the plain-text answers: its answers are written here as the
    /// bytes it gives (<see cref="IUpstreamErrorWriter.AnswerAsync"/>); a writer that gives none keeps this path off.
    /// </param>
    /// <param name="content">The node's own content, offered each request first (the web node's files), or null.</param>
    /// <param name="limits">The node's Kestrel limits (<c>web.client</c>'s request line and headers): a head over them is Kestrel's to refuse (414, 431).</param>
    public ConnectionForwarder(UpstreamForwarder forwarder, ProxyHeaders proxyHeaders, IUpstreamErrorWriter? errorWriter, IConnectionContent? content = null, KestrelServerLimits? limits = null)
    {
        // Kestrel may count a line's CRLF or not: a head within two bytes of a limit goes to Kestrel, which decides.
        MaxRequestLine = (int)Math.Min(limits?.MaxRequestLineSize ?? int.MaxValue, int.MaxValue) - 2;
        MaxHeaderBytes = (int)Math.Min(limits?.MaxRequestHeadersTotalSize ?? int.MaxValue, int.MaxValue) - 2;
        Content = content;
        Forwarder = forwarder;
        ProxyHeaders = proxyHeaders;
        ProxyName = forwarder.ProxyName;
        ErrorWriter = errorWriter is PlainTextUpstreamErrorWriter ? null : errorWriter;
        _ownErrorWriter = ErrorWriter is { HasAnswers: false };
        _heartbeat = new Timer(static state => ((ConnectionForwarder)state!).Heartbeat(), this, 1000, 1000);
    }

    public UpstreamForwarder Forwarder { get; }

    /// <summary>The longest request line (CRLF included) this path takes; a longer one is handed to Kestrel.</summary>
    public int MaxRequestLine { get; }

    /// <summary>The most header bytes (after the request line, the blank line included) this path takes.</summary>
    public int MaxHeaderBytes { get; }

    public ProxyHeaders ProxyHeaders { get; }

    public string ProxyName { get; }

    /// <summary>The node's own error writer (its answers as bytes), or null for the plain-text answers.</summary>
    public IUpstreamErrorWriter? ErrorWriter { get; }

    /// <summary>The node's own content, offered each request before it is forwarded or handed over, or null.</summary>
    public IConnectionContent? Content { get; }

    /// <summary>
    /// Whether this path may serve requests itself now: not when a request must be seen whole to choose its server
    /// (hash balancing, a persistence cookie, in any pool) or errors have their own writer that gives no bytes.
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
