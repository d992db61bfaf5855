using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Strata.Hosting.Telemetry;
using Strata.Proxy.Forwarding;
using Strata.Proxy.Forwarding.Http1;
using Strata.Proxy.Routing;
using Strata.Proxy.Upstreams;
using Strata.Topology;

namespace Strata.Proxy.Clients.Kestrel;

/// <summary>
/// The client as Kestrel parsed it: a request without a body goes over <see cref="Http1Forwarder"/>, whose answer's
/// headers are set on Kestrel's response (Kestrel frames the body); any other through YARP.
/// </summary>
internal readonly struct KestrelProxyClient(HttpContext context, KestrelForwarder forwarder) : IProxyClient, IForwardingClient
{
    public string Method => context.Request.Method;

    public CancellationToken Aborted => context.RequestAborted;

    public PipeWriter Body => context.Response.BodyWriter;

    public bool RelaysChunkFraming => false;

    public IPAddress? Peer => context.Connection.RemoteIpAddress;

    public IPAddress? LimitedClient => forwarder.ProxyHeaders.LimitedClient(Peer, context.Request.Headers[ProxyHeaders.ForwardedFor].ToString());

    public string Scheme => context.Request.Scheme;

    public string Host => context.Request.Headers.Host.ToString();

    public string Path => context.Request.PathBase.Add(context.Request.Path).Value ?? "/";

    public string RequestUri => RequestTarget(context);

    public string? Header(string name) => context.Request.Headers.TryGetValue(name, out var values) ? values.ToString() : null;

    public Route? Route => context.Features.Get<UpstreamFeature>()?.Route;

    public bool HasBody => context.Request.ContentLength > 0 || context.Request.Headers.ContainsKey(HeaderNames.TransferEncoding);

    public int Status => context.Response.StatusCode;

    public bool ResponseStarted => context.Response.HasStarted;

    public HttpContext Context => context;

    public RequestScreen.Refusal? Screen() => RequestScreen.Check(context.Request);

    /// <summary>Not known: Kestrel does not say when the head's first byte came.</summary>
    public long Started => 0;

    public int PeerPort => context.Connection.RemotePort;

    public IPAddress? LocalAddress => context.Connection.LocalIpAddress;

    public int LocalPort => context.Connection.LocalPort;

    public string Protocol => context.Request.Protocol;

    public long AnswerBytes => HttpMethods.IsHead(context.Request.Method) ? 0 : context.Response.ContentLength ?? -1;

    public string? Cookie(string name) => context.Request.Cookies[name];

    /// <summary>
    /// Keeps a configured route on the request for the stages after routing (YARP's transform, the pipeline after a
    /// web node's files), and has its response edits applied to whatever answer starts (forwarded, an error, a file).
    /// </summary>
    public void Routed(Route route)
    {
        if (!route.IsDefault)
        {
            UpstreamFeature.Of(context).Route = route;
        }

        if (!route.ResponseEdits.IsEmpty)
        {
            context.Response.OnStarting(static state =>
            {
                var (edits, response) = ((HeaderEdits, HttpResponse))state;
                edits.ApplyTo(response.Headers);
                return Task.CompletedTask;
            }, (route.ResponseEdits, context.Response));
        }
    }

    public void Chose(Upstream upstream, BackendSpec backend)
    {
        if (backend.PersistenceCookie is not { } cookie)
        {
            return;
        }

        var feature = UpstreamFeature.Of(context);
        feature.Upstream = upstream;
        feature.Cookie = cookie;
    }

    /// <summary>Strata's own HTTP/1.1 path for a request without a body or upgrade (CONNECT never gets here: RequestScreen); YARP for the rest.</summary>
    public ValueTask<ForwardAttempt> SendAsync(Upstream upstream, BackendSpec backend, bool discard503) =>
        context.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: false } && !context.Request.Headers.ContainsKey(HeaderNames.Upgrade)
            ? Http1Forwarder.ForwardAsync(this, upstream.Connections, forwarder.Source, backend, discard503)
            : forwarder.ForwardWithYarpAsync(context, upstream, backend, discard503);

    public void ResetResponse() => context.Response.Clear();

    public ValueTask WriteErrorAsync(int status, string detail, bool close) => new(forwarder.WriteErrorAsync(context, status, detail, close));

    public ValueTask WriteAnswerAsync(RuleAnswer answer) => new(forwarder.WriteAnswerAsync(context, answer));

    public int WriteRequestHead(Http1Connection connection) => WriteRequestHead(context, forwarder.ProxyHeaders, connection);

    public void SetStatus(int status) => context.Response.StatusCode = status;

    public void StartResponse(Http1Connection connection, bool noBody)
    {
        var response = context.Response;
        CopyResponseHeaders(connection, response);
        OnResponse(context, forwarder.ProxyHeaders);
        var head = connection.Head;
        if (head.ContentLength >= 0 && (noBody ? head.Status is not (StatusCodes.Status204NoContent or StatusCodes.Status304NotModified) : !head.Chunked))
        {
            response.ContentLength = head.ContentLength;
        }
    }

    /// <summary>Nothing to do: the access log counts the body bytes Kestrel's response took.</summary>
    public void Relayed(long bytes)
    {
    }

    public void Abort() => context.Abort();

    /// <summary>Adds Via and, where needed, the persistence cookie to the response going back to the client.</summary>
    public static void OnResponse(HttpContext context, ProxyHeaders proxyHeaders)
    {
        var headers = context.Response.Headers;
        headers.Via = proxyHeaders.ResponseVia(headers.Via);
        if (context.Features.Get<UpstreamFeature>() is { Upstream: { } upstream, Cookie: { } persistenceCookie }
            && context.Request.Cookies[persistenceCookie] != upstream.Name)
        {
            headers.Append(HeaderNames.SetCookie, $"{persistenceCookie}={upstream.Name}; Path=/; HttpOnly; SameSite=Lax");
        }
    }

    private static void CopyResponseHeaders(Http1Connection connection, HttpResponse response)
    {
        var head = connection.Head;
        var bytes = connection.Buffered;
        var headers = response.Headers;
        foreach (var range in head.Headers)
        {
            var name = bytes.Slice(range.NameStart, range.NameLength);
            if (head.ConnectionOptions is not null && head.IsConnectionOption(name))
            {
                continue;
            }

            var (nameText, value) = connection.HeaderStrings.Get(name, bytes.Slice(range.ValueStart, range.ValueLength));
            headers[nameText] = headers.TryGetValue(nameText, out var existing) ? StringValues.Concat(existing, value) : value;
        }
    }

    /// <summary>Writes the request line and headers into the connection's head buffer; returns the length.</summary>
    private static int WriteRequestHead(HttpContext context, ProxyHeaders proxyHeaders, Http1Connection connection)
    {
        var request = context.Request;
        var writer = new HeadWriter(connection);
        writer.Append(request.Method);
        writer.Append(" "u8);
        writer.Append(RequestTarget(context));
        writer.Append(" HTTP/1.1\r\nHost: "u8);
        var host = request.Headers.Host;
        writer.Append(StringValues.IsNullOrEmpty(host) ? connection.EndPoint.ToString() : host.ToString());
        writer.Append("\r\n"u8);

        var forwardedFor = proxyHeaders.ForwardedForValue(context, out var keepClientValues);
        var replaceForwarded = !keepClientValues;
        var connectionOptions = request.Headers.Connection;
        var edits = context.Features.Get<UpstreamFeature>()?.Route?.RequestEdits ?? HeaderEdits.None;
        // While the node traces, the attempt's span is the parent the server is told of, in place of the client's.
        var span = TraceContextHeaders.Current;
        foreach (var (name, values) in request.Headers)
        {
            if (IsNotForwarded(name, replaceForwarded, span) || (connectionOptions.Count > 0 && IsListed(connectionOptions, name)) || edits.Drops(name))
            {
                continue;
            }

            if (values.Count > 1 && string.Equals(name, HeaderNames.Cookie, StringComparison.OrdinalIgnoreCase))
            {
                // HTTP/2 clients may split cookies; HTTP/1.1 allows one Cookie line (RFC 9113 §8.2.3).
                writer.Header(name, string.Join("; ", values.ToArray()));
                continue;
            }

            foreach (var value in values)
            {
                writer.Header(name, value ?? "");
            }
        }

        writer.Header(HeaderNames.Via, proxyHeaders.RequestVia(request));
        writer.Header(ProxyHeaders.ForwardedFor, forwardedFor);
        if (!keepClientValues || !request.Headers.ContainsKey(ProxyHeaders.ForwardedProto))
        {
            writer.Header(ProxyHeaders.ForwardedProto, request.Scheme);
        }

        if (!keepClientValues || !request.Headers.ContainsKey(ProxyHeaders.ForwardedHost))
        {
            writer.Header(ProxyHeaders.ForwardedHost, request.Host.Value ?? "");
        }

        writer.Append(edits.Lines);
        writer.TraceContext(span);

        writer.Append("\r\n"u8);
        return writer.Length;
    }

    /// <summary>The request-target as the client sent it (origin form), so that its encoding is kept exactly.</summary>
    private static string RequestTarget(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (raw is { Length: > 0 } && (raw[0] == '/' || raw == "*"))
        {
            return raw;
        }

        var request = context.Request;
        return request.PathBase.Add(request.Path).ToUriComponent() + request.QueryString.ToUriComponent();
    }

    // The policy's dropped headers, those this proxy writes itself (Host, Via, X-Forwarded-For, and the trace context
    // while it traces), and Expect (nothing to continue: this way has no body).
    private static bool IsNotForwarded(string name, bool replaceForwarded, System.Diagnostics.Activity? span) =>
        ProxyHeaders.Classify(name) is var kind
        && (kind is HeaderKind.Host or HeaderKind.Via or HeaderKind.ForwardedFor || ProxyHeaders.IsDropped(kind, replaceForwarded) || ProxyHeaders.IsReplacedTraceContext(kind, span))
        || name.Equals(HeaderNames.Expect, StringComparison.OrdinalIgnoreCase);

    private static bool IsListed(StringValues connection, string name)
    {
        foreach (var value in connection)
        {
            foreach (var range in value.AsSpan().Split(','))
            {
                if (value.AsSpan()[range].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
