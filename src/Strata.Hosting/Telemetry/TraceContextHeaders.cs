using System.Diagnostics;
using System.Net.Http.Headers;

namespace Strata.Hosting.Telemetry;

/// <summary>
/// The W3C Trace Context headers (https://www.w3.org/TR/trace-context/) a forwarding node writes for the tier behind:
/// while a span is current (tracing on), its own <c>traceparent</c> and <c>tracestate</c> in place of the client's;
/// otherwise the client's as they came.
/// </summary>
public static class TraceContextHeaders
{
    /// <summary>The trace id, the parent span id and the flags: <c>00-{32 hex}-{16 hex}-{2 hex}</c>.</summary>
    public const string TraceParent = "traceparent";

    /// <summary>Vendors' state, carried along.</summary>
    public const string TraceState = "tracestate";

    /// <summary>
    /// The span to name as the parent in what is sent on, or null when there is none (tracing off): only a W3C span
    /// has a traceparent (<see cref="Activity.Id"/> is then that header's value).
    /// </summary>
    public static Activity? Current => Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity ? activity : null;

    /// <summary>Replaces the client's trace context in <paramref name="headers"/> (YARP's request) with the current span's, if any.</summary>
    public static void Replace(HttpRequestHeaders headers)
    {
        if (Current is not { } activity)
        {
            return;
        }

        headers.Remove(TraceParent);
        headers.Remove(TraceState);
        headers.TryAddWithoutValidation(TraceParent, activity.Id);
        if (activity.TraceStateString is { Length: > 0 } state)
        {
            headers.TryAddWithoutValidation(TraceState, state);
        }
    }
}
