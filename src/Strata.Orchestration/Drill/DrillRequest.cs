using System.Net.Http;
using System.Net.Sockets;

namespace Strata.Orchestration.Drill;

/// <summary>What a request of the drill's load asked for.</summary>
public enum DrillRequestKind : byte
{
    /// <summary>A GET of a file of the site, answered by a web node.</summary>
    Static,

    /// <summary>A GET the app renders from the database (the home page, a page of messages).</summary>
    Dynamic,

    /// <summary>A POST of a guestbook message; answered 201, an acknowledged write.</summary>
    Write,
}

/// <summary>Why a request failed, as the client saw it; <see cref="None"/> when it succeeded.</summary>
public enum FailureCause : byte
{
    /// <summary>It succeeded: 2xx for a read, 201 for a write.</summary>
    None,

    /// <summary>The connection was refused: nothing listened on the address.</summary>
    Refused,

    /// <summary>The connection was reset or closed while the request was in flight.</summary>
    Reset,

    /// <summary>No whole answer within the request timeout.</summary>
    Timeout,

    /// <summary>502 Bad Gateway: a proxy got no valid answer from the tier behind it.</summary>
    Http502,

    /// <summary>503 Service Unavailable: no server to send it to, or the app's database unavailable.</summary>
    Http503,

    /// <summary>504 Gateway Timeout: the tier behind a proxy answered too late.</summary>
    Http504,

    /// <summary>Anything else: another status, another error (the report keeps samples).</summary>
    Other,
}

/// <summary>One request of the load: when it started and ended (milliseconds since the load began), what it was, how it ended.</summary>
/// <param name="StartMs">When it was sent.</param>
/// <param name="EndMs">When its whole answer was read, or it failed.</param>
/// <param name="Kind">What it asked for.</param>
/// <param name="Cause">Why it failed, or <see cref="FailureCause.None"/>.</param>
/// <param name="Status">The answer's status; 0 without one.</param>
public readonly record struct DrillRequest(double StartMs, double EndMs, DrillRequestKind Kind, FailureCause Cause, int Status = 0)
{
    /// <summary>A GET: idempotent, which every proxy may retry and no client should see fail.</summary>
    public bool IsRead => Kind != DrillRequestKind.Write;

    /// <summary>Whether it succeeded.</summary>
    public bool Succeeded => Cause == FailureCause.None;
}

/// <summary>Classifies a request's end by its cause (HAProxy's termination states name the side; here the client's view).</summary>
internal static class DrillFailures
{
    /// <summary>The cause of an answer with <paramref name="status"/>; a write succeeds only with 201 (acknowledged).</summary>
    public static FailureCause OfStatus(int status, DrillRequestKind kind) => status switch
    {
        201 when kind == DrillRequestKind.Write => FailureCause.None,
        >= 200 and < 300 when kind != DrillRequestKind.Write => FailureCause.None,
        502 => FailureCause.Http502,
        503 => FailureCause.Http503,
        504 => FailureCause.Http504,
        _ => FailureCause.Other,
    };

    /// <summary>
    /// The cause of a request that threw <paramref name="exception"/>: <paramref name="timedOut"/> when the request's own
    /// timeout fired; else the first telling error from the outside in (HttpClient wraps the socket's).
    /// </summary>
    public static FailureCause OfException(Exception exception, bool timedOut)
    {
        if (timedOut)
        {
            return FailureCause.Timeout;
        }

        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case SocketException { SocketErrorCode: SocketError.ConnectionRefused }:
                    return FailureCause.Refused;
                case SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown or SocketError.NotConnected }:
                    return FailureCause.Reset;
                case SocketException { SocketErrorCode: SocketError.TimedOut }:
                case TimeoutException:
                    return FailureCause.Timeout;
                case HttpRequestException { HttpRequestError: HttpRequestError.ResponseEnded }:
                case HttpIOException { HttpRequestError: HttpRequestError.ResponseEnded }:
                    // The server closed the connection before the whole answer: it died with the request in flight.
                    return FailureCause.Reset;
            }
        }

        return FailureCause.Other;
    }

    /// <summary>The cause as the report names it: refused, reset, timeout, 502, 503, 504, other.</summary>
    public static string Name(FailureCause cause) => cause switch
    {
        FailureCause.Refused => "refused",
        FailureCause.Reset => "reset",
        FailureCause.Timeout => "timeout",
        FailureCause.Http502 => "502",
        FailureCause.Http503 => "503",
        FailureCause.Http504 => "504",
        FailureCause.Other => "other",
        _ => "none",
    };

    /// <summary>A short description of an <see cref="FailureCause.Other"/> failure, for the report's samples.</summary>
    public static string Describe(Exception exception)
    {
        var innermost = exception;
        while (innermost.InnerException is not null)
        {
            innermost = innermost.InnerException;
        }

        return innermost is SocketException socket ? $"socket: {socket.SocketErrorCode}" : $"{innermost.GetType().Name}: {innermost.Message}";
    }
}
