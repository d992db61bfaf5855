using System.Net;

namespace Strata.Proxy.RequestLog;

/// <summary>
/// What the load balancer's pipeline leaves behind of one request for the request log: references to strings the
/// request already holds, the phases' durations and a few numbers, nothing formatted (the writer's loop formats).
/// The fields are HAProxy's <c>option httplog</c> ones (docs/security.md, "The request log").
/// </summary>
/// <param name="Date">When the request's first byte arrived (or, where that is not known, when its head was read).</param>
/// <param name="Client">The client's address.</param>
/// <param name="ClientPort">The client's port.</param>
/// <param name="Local">The address the client connected to (the VIP, or the node's own).</param>
/// <param name="LocalPort">Its port.</param>
/// <param name="Tls">Whether the request came over TLS.</param>
/// <param name="Route">The route it took.</param>
/// <param name="Pool">The route's pool (HAProxy's backend).</param>
/// <param name="Server">The server of the last attempt, or null when none was tried.</param>
/// <param name="Times">The phases' durations.</param>
/// <param name="Status">The status the client got, or -1 when it got none.</param>
/// <param name="Bytes">Response body bytes sent to the client (-1 when not counted).</param>
/// <param name="Retries">Attempts after the first (retries and redispatches).</param>
/// <param name="Termination">How the request ended.</param>
/// <param name="Method">The request method.</param>
/// <param name="Target">The request target as sent.</param>
/// <param name="Protocol">HTTP/1.1, HTTP/2...</param>
public readonly record struct RequestLogEntry(
    DateTimeOffset Date,
    IPAddress? Client,
    int ClientPort,
    IPAddress? Local,
    int LocalPort,
    bool Tls,
    string Route,
    string Pool,
    string? Server,
    PhaseTimes Times,
    int Status,
    long Bytes,
    int Retries,
    Termination Termination,
    string Method,
    string Target,
    string Protocol);

/// <summary>
/// HAProxy's timers, as <see cref="System.Diagnostics.Stopwatch"/> ticks, -1 for a phase not reached or not measured:
/// <c>TR</c> receiving the request head, <c>Tw</c> waiting in the queue, <c>Tc</c> connecting to the server (0 on a
/// kept-alive connection), <c>Tr</c> the server's time to its response head, <c>Ta</c> the whole request, from its first
/// byte to the end of the response.
/// </summary>
public readonly record struct PhaseTimes(long Receive, long Queue, long Connect, long Response, long Total);

/// <summary>
/// HAProxy's two-letter termination state (docs/security.md): the cause, <c>-</c> none (a normal end), <c>C</c> the
/// client aborted, <c>S</c> the server aborted or refused, <c>s</c> the server timeout, <c>P</c> the proxy refused
/// (a hostile request, a deny or a rate limit), <c>L</c> the proxy answered itself (a redirect or a fixed answer),
/// <c>R</c> no room (the queue full); and the phase it ended in, <c>-</c> a complete exchange, <c>R</c> the request,
/// <c>Q</c> the queue, <c>C</c> connecting, <c>H</c> the response head, <c>D</c> the response body.
/// </summary>
public readonly record struct Termination(char Cause, char Phase)
{
    public static readonly Termination Normal = new('-', '-');

    public override string ToString() => string.Create(2, this, static (span, t) => (span[0], span[1]) = (t.Cause, t.Phase));
}
