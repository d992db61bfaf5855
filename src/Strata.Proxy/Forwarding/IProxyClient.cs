using Microsoft.AspNetCore.Http;
using Strata.Proxy.Routing;
using Strata.Proxy.Upstreams;
using Strata.Topology;

namespace Strata.Proxy.Forwarding;

/// <summary>
/// The client's side of a forwarded request, whatever the way in (Clients/: Kestrel's parsed request and response, or
/// a connection read below Kestrel's HTTP layer). <see cref="UpstreamForwarder"/>'s one pipeline (screen, route, rules,
/// choose a server, forward with retries, answer errors, record) calls it; a client side only reads requests, sends
/// each attempt and writes what the pipeline decided.
/// </summary>
internal interface IProxyClient : IRoutedRequest
{
    /// <summary>Cancelled when the client goes away (none when that is only noticed on the next write).</summary>
    CancellationToken Aborted { get; }

    /// <summary>The route chosen before the pipeline ran (a web node routes before its static files), or null.</summary>
    Route? Route { get; }

    /// <summary>The route the request takes: its pool's server gets the request with the route's header edits, and the client the answer with them.</summary>
    void Routed(Route route);

    /// <summary>Writes what a route's rule answered (a redirect or a fixed answer).</summary>
    ValueTask WriteAnswerAsync(RuleAnswer answer);

    /// <summary>Whether the request has a body (which cannot be sent twice, so it is retried only when nothing was sent).</summary>
    bool HasBody { get; }

    /// <summary>The status the client got or gets: the server's, or the proxy's own answer.</summary>
    int Status { get; }

    /// <summary>Whether anything of the response has gone to the client (nothing can be retried then).</summary>
    bool ResponseStarted { get; }

    /// <summary>The request as balancing policies that read it see it (consistent hash), or null when none may.</summary>
    HttpContext? Context { get; }

    /// <summary>Why the request must not be forwarded (<see cref="RequestScreen"/>), or null.</summary>
    RequestScreen.Refusal? Screen();

    /// <summary>The value of the request's cookie <paramref name="name"/>, if any.</summary>
    string? Cookie(string name);

    /// <summary>The server chosen for the next attempt (what a persistence cookie in the response names).</summary>
    void Chose(Upstream upstream, BackendSpec backend);

    /// <summary>One attempt to forward the request to <paramref name="upstream"/>, with the route's request edits; the answer is relayed with its response edits.</summary>
    ValueTask<ForwardAttempt> SendAsync(Upstream upstream, BackendSpec backend, bool discard503);

    /// <summary>Forgets a response that was not relayed (a discarded 503, a failed attempt) before the next attempt.</summary>
    void ResetResponse();

    /// <summary>Writes the proxy's own answer; with <paramref name="close"/> the connection is closed after it.</summary>
    ValueTask WriteErrorAsync(int status, string detail, bool close);

    // What the request log reads of the request once it has ended; never read when the log is off.

    /// <summary>When the request's first byte arrived (a <see cref="System.Diagnostics.Stopwatch"/> timestamp), 0 when not known.</summary>
    long Started { get; }

    /// <summary>The client's port.</summary>
    int PeerPort { get; }

    /// <summary>The address the client connected to.</summary>
    System.Net.IPAddress? LocalAddress { get; }

    /// <summary>The port the client connected to.</summary>
    int LocalPort { get; }

    /// <summary>E.g. HTTP/1.1 or HTTP/2.</summary>
    string Protocol { get; }

    /// <summary>Body bytes of the proxy's own answer (an error, a rule's), -1 when not known.</summary>
    long AnswerBytes { get; }
}
