using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Strata.Hosting.Logs;
using Strata.Proxy.Forwarding;
using Strata.Proxy.Routing;
using Strata.Proxy.Upstreams;
using Strata.Topology;
using Yarp.ReverseProxy.Forwarder;

namespace Strata.Proxy.Clients.Kestrel;

/// <summary>
/// The way in through Kestrel's HTTP layer: each request becomes a <see cref="KestrelProxyClient"/> that the node's
/// one pipeline (<see cref="UpstreamForwarder"/>) forwards. A request without a body is sent over Strata's own
/// HTTP/1.1 exchange; any other (a body, an upgrade) through YARP's <see cref="IHttpForwarder"/>, whose client and
/// transforms live here. Errors and rule answers are written on Kestrel's response, errors by the node's
/// <see cref="IUpstreamErrorWriter"/>.
/// </summary>
public sealed class KestrelForwarder : IDisposable
{
    private readonly UpstreamForwarder _pipeline;
    private readonly IHttpForwarder _yarp;
    private readonly HttpTransformer _transformer;
    private readonly HttpTransformer _discard503Transformer;
    private readonly HttpMessageInvoker _client;
    private readonly IUpstreamErrorWriter _errorWriter;
    private volatile CachedRequestConfig? _requestConfig;

    internal KestrelForwarder(UpstreamForwarder pipeline, IHttpForwarder yarp, ProxyHeaders proxyHeaders, IUpstreamErrorWriter? errorWriter)
    {
        _pipeline = pipeline;
        _yarp = yarp;
        ProxyHeaders = proxyHeaders;
        _errorWriter = errorWriter ?? PlainTextUpstreamErrorWriter.Instance;
        _transformer = new ForwardingTransformer(proxyHeaders);
        _discard503Transformer = new Discard503Transformer(_transformer);
        _client = new HttpMessageInvoker(new SocketsHttpHandler
        {
            // What YARP recommends for a forwarding client: no proxy, redirects, cookies or decompression, and
            // no trace headers unless configured; connections are pooled and kept alive.
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            ActivityHeadersPropagator = null,
            ConnectTimeout = pipeline.Backends.Default.Backend.ConnectTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            EnableMultipleHttp2Connections = true,
            // Kestrel decoded non-ASCII header values as UTF-8 (invalid UTF-8 it refused): sent on as the same bytes.
            // HttpClient would refuse them otherwise, after a server was chosen.
            RequestHeaderEncodingSelector = static (_, _) => System.Text.Encoding.UTF8,
            ConnectCallback = (context, cancellationToken) => UpstreamSocket.ConnectAsync(context, pipeline.Source, cancellationToken),
        });
    }

    /// <summary>Whether the node writes its errors with its own writer (error pages), which only this way in can use.</summary>
    internal bool HasOwnErrorWriter => _errorWriter is not PlainTextUpstreamErrorWriter;

    internal ProxyHeaders ProxyHeaders { get; }

    internal string ProxyName => _pipeline.ProxyName;

    /// <inheritdoc cref="UpstreamForwarder.Source"/>
    internal IPAddress? Source => _pipeline.Source;

    /// <summary>Forwards the request, retrying on other servers where that is safe, or answers the error itself.</summary>
    public Task ForwardAsync(HttpContext context) => _pipeline.ForwardAsync(new KestrelProxyClient(context, this)).AsTask();

    /// <summary>
    /// The pipeline's routing stage ahead of a node's own content (a web node's static files): a request a rule answers
    /// is answered here, one whose route names another pool than the default is forwarded at once (nginx's
    /// <c>location</c> with <c>proxy_pass</c>), and the rest go on to <paramref name="next"/> with their route kept.
    /// </summary>
    internal async Task RouteAsync(HttpContext context, RequestDelegate next)
    {
        var client = new KestrelProxyClient(context, this);
        if (await _pipeline.RouteAsync(client) is not { } route)
        {
            return;
        }

        if (route.Pool != _pipeline.Backends.Default)
        {
            await _pipeline.ForwardAsync(client);
            return;
        }

        await next(context);
    }

    /// <summary>One attempt through YARP (requests with a body, upgrades).</summary>
    internal async ValueTask<ForwardAttempt> ForwardWithYarpAsync(HttpContext context, Upstream upstream, BackendSpec backend, bool discard503)
    {
        // With a request log, the answer's body bytes are counted and the response head's arrival noted (ForwardingTransformer).
        CountingResponseBodyFeature? counting = null;
        var original = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        if (_pipeline.LogsRequests)
        {
            counting = new CountingResponseBodyFeature(original);
            context.Features.Set<IHttpResponseBodyFeature>(counting);
            var feature = UpstreamFeature.Of(context);
            feature.Sent = Stopwatch.GetTimestamp();
            feature.ResponseTicks = -1;
        }

        ForwarderError error;
        try
        {
            error = await _yarp.SendAsync(context, upstream.DestinationPrefix, _client, RequestConfig(backend), discard503 ? _discard503Transformer : _transformer);
        }
        finally
        {
            if (counting is not null)
            {
                context.Features.Set(original);
            }
        }

        var exception = context.GetForwarderErrorFeature()?.Exception;
        context.Features.Set<IForwarderErrorFeature>(null);
        var outcome = error switch
        {
            ForwarderError.None => ForwardOutcome.Answered,
            // YARP could not build the request from what the client sent (e.g. a header HttpClient refuses).
            ForwarderError.RequestCreation => ForwardOutcome.Refused,
            ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.RequestBodyClient
                or ForwarderError.ResponseBodyCanceled or ForwarderError.ResponseBodyClient
                or ForwarderError.UpgradeRequestCanceled or ForwarderError.UpgradeRequestClient
                or ForwarderError.UpgradeResponseCanceled or ForwarderError.UpgradeResponseClient => ForwardOutcome.ClientGone,
            _ when IsConnectFailure(exception) => ForwardOutcome.NotSent,
            ForwarderError.RequestTimedOut => ForwardOutcome.TimedOut,
            // The server stopped reading the body and closed: after answering (a 413: YARP relays it, then reports
            // this), or before its answer could be read. A server refusing a body is not failing.
            ForwarderError.RequestBodyDestination => context.Response.HasStarted ? ForwardOutcome.Answered : ForwardOutcome.BodyRefused,
            ForwarderError.ResponseBodyDestination or ForwarderError.UpgradeResponseDestination => ForwardOutcome.ResponseBroken,
            _ => ForwardOutcome.FailedAfterSend,
        };
        var attempt = new ForwardAttempt(outcome, exception);
        return counting is null ? attempt : attempt with { Response = UpstreamFeature.Of(context).ResponseTicks, Bytes = counting.Bytes };
    }

    /// <summary>The proxy's own answer on Kestrel's response, written by the node's <see cref="IUpstreamErrorWriter"/>.</summary>
    internal Task WriteErrorAsync(HttpContext context, int status, string detail, bool close)
    {
        var response = StartOwnAnswer(context, status);
        if (close)
        {
            response.Headers.Connection = "close";
        }

        return _errorWriter.WriteAsync(context, new UpstreamError(status, detail));
    }

    /// <summary>A route rule's own answer on Kestrel's response: a redirect (no body) or a fixed status and body.</summary>
    internal Task WriteAnswerAsync(HttpContext context, RuleAnswer answer)
    {
        var response = StartOwnAnswer(context, answer.Status);
        if (answer.Location is { } location)
        {
            response.Headers.Location = location;
            response.ContentLength = 0;
            return Task.CompletedTask;
        }

        if (answer.RetryAfter > 0)
        {
            response.Headers.RetryAfter = answer.RetryAfter.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var body = System.Text.Encoding.UTF8.GetBytes(answer.Body);
        response.ContentType = answer.ContentType;
        response.ContentLength = body.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(body).AsTask();
    }

    public void Dispose() => _client.Dispose();

    private HttpResponse StartOwnAnswer(HttpContext context, int status)
    {
        var response = context.Response;
        response.Clear();
        response.StatusCode = status;
        response.Headers[UpstreamForwarder.ServedByHeader] = _pipeline.ProxyName;
        return response;
    }

    /// <summary>YARP's per-request settings for this backend, rebuilt only when a reload changed the backend.</summary>
    private ForwarderRequestConfig RequestConfig(BackendSpec backend)
    {
        var cached = _requestConfig;
        if (cached is not null && ReferenceEquals(cached.Backend, backend))
        {
            return cached.Config;
        }

        var config = new ForwarderRequestConfig { ActivityTimeout = backend.ServerTimeout };
        _requestConfig = new CachedRequestConfig(backend, config);
        return config;
    }

    private static bool IsConnectFailure(Exception? exception) => exception switch
    {
        HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } => true,
        HttpRequestException { InnerException: SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.TimedOut } } => true,
        _ => false,
    };

    private sealed record CachedRequestConfig(BackendSpec Backend, ForwarderRequestConfig Config);
}
