using System.Diagnostics;
using Strata.Proxy.Upstreams;

namespace Strata.Proxy.Forwarding;

/// <summary>
/// The forwarding nodes' own spans, under OpenTelemetry's HTTP conventions: a client span for each attempt to a server
/// (so a retry shows as a second one), and a server span for a request read below Kestrel's HTTP layer, where ASP.NET
/// Core starts none. Only while the node traces (<c>NodeTracing</c>): otherwise the source has no listener and starting
/// a span costs one check.
/// </summary>
internal static class ProxyTracing
{
    public static readonly ActivitySource Source = new("Strata.Proxy");

    /// <summary>
    /// The server span of a request on the connection path, the child of the client's <c>traceparent</c> when it sent a
    /// valid one (the header values as sent, empty when absent); null when not traced.
    /// </summary>
    public static Activity? StartServer(string method, ReadOnlySpan<byte> traceParent, ReadOnlySpan<byte> traceState)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        ActivityContext.TryParse(Text(traceParent), Text(traceState), isRemote: true, out var parent);
        var span = Source.StartActivity(method, ActivityKind.Server, parent);
        span?.SetTag("http.request.method", method);
        return span;
    }

    /// <summary>The client span of one attempt to <paramref name="upstream"/>; null when not traced.</summary>
    public static Activity? StartAttempt(string method, Upstream upstream)
    {
        var span = Source.StartActivity(method, ActivityKind.Client);
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag("http.request.method", method);
            span.SetTag("server.address", upstream.Node.Address.Address.ToString());
            span.SetTag("server.port", upstream.Node.Address.Port);
            span.SetTag("strata.server", upstream.Name);
        }

        return span;
    }

    /// <summary>Ends a span with the status the client got, or, for an attempt that got no answer, why.</summary>
    public static void End(Activity span, int status, ForwardOutcome outcome = ForwardOutcome.Answered)
    {
        if (outcome != ForwardOutcome.Answered)
        {
            span.SetStatus(ActivityStatusCode.Error);
            span.SetTag("error.type", outcome.ToString());
        }
        else
        {
            span.SetTag("http.response.status_code", status);
            if (status >= 500)
            {
                span.SetStatus(ActivityStatusCode.Error);
            }
        }

        span.Dispose();
    }

    private static string? Text(ReadOnlySpan<byte> value) => value.IsEmpty ? null : System.Text.Encoding.ASCII.GetString(value);
}
