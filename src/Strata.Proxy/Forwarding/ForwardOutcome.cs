namespace Strata.Proxy.Forwarding;

/// <summary>How one attempt to forward a request to one server ended.</summary>
internal enum ForwardOutcome
{
    /// <summary>The server's response was relayed.</summary>
    Answered,

    /// <summary>The client went away.</summary>
    ClientGone,

    /// <summary>
    /// The request could not be sent as the client sent it (the HTTP client refused a header or value that got past
    /// <see cref="RequestScreen"/>): the client's fault, answered 400, never counted against the server or retried.
    /// </summary>
    Refused,

    /// <summary>No connection could be made: nothing was sent.</summary>
    NotSent,

    /// <summary>Sent, then the connection failed or closed before a response.</summary>
    FailedAfterSend,

    /// <summary>Sent, then no response within the server timeout.</summary>
    TimedOut,

    /// <summary>The response was not valid HTTP, or it started and then broke.</summary>
    ResponseBroken,

    /// <summary>
    /// The server stopped reading the request's body and closed the connection before its answer could be read: it
    /// refused the body (a 413 lost to the reset its close sends). Answered 502, never counted against the server or
    /// retried (a server that died is its health checks' to find).
    /// </summary>
    BodyRefused,
}

/// <summary>An attempt's outcome, the error behind it when it failed, and what the request log reads of it.</summary>
internal readonly record struct ForwardAttempt(ForwardOutcome Outcome, Exception? Error = null)
{
    /// <summary>Stopwatch ticks spent connecting to the server: 0 on a kept-alive connection, -1 when not measured.</summary>
    public long Connect { get; init; } = -1;

    /// <summary>Stopwatch ticks from the request sent to the server's response head, -1 when none came or not measured.</summary>
    public long Response { get; init; } = -1;

    /// <summary>Response body bytes relayed to the client, -1 when not counted.</summary>
    public long Bytes { get; init; } = -1;

    public static readonly ForwardAttempt Answered = new(ForwardOutcome.Answered);
    public static readonly ForwardAttempt ClientGone = new(ForwardOutcome.ClientGone);
}
