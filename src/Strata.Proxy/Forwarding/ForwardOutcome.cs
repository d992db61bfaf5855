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
}

/// <summary>An attempt's outcome, and the error behind it when it failed.</summary>
internal readonly record struct ForwardAttempt(ForwardOutcome Outcome, Exception? Error = null)
{
    public static readonly ForwardAttempt Answered = new(ForwardOutcome.Answered);
    public static readonly ForwardAttempt ClientGone = new(ForwardOutcome.ClientGone);
}
