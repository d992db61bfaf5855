using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Strata.Proxy.Forwarding.Http1;
using Strata.Proxy.Routing;
using Strata.Proxy.Upstreams;
using Strata.Topology;
using Yarp.ReverseProxy.Forwarder;

namespace Strata.Proxy.Forwarding;

/// <summary>
/// Forwards a request to a server of a backend — a request without a body over <see cref="Http1Forwarder"/>, any
/// other through YARP's <see cref="IHttpForwarder"/> — adding what YARP leaves out (yarp#56, #394): retries on
/// another server, passive health, the per-server limit and queue, session persistence and error answers with the
/// right status and a small body.
/// </summary>
/// <remarks>
/// Retries follow HAProxy's <c>retry-on</c> with redispatch, by default <c>conn-failure empty-response
/// response-timeout</c>: a request whose connection could not be made is retried whatever its method (nothing was
/// sent); one that failed after being sent only when its method is idempotent and it has no body (the body cannot
/// be sent twice). Nothing is retried once the response has started. With <c>503</c> in <c>retries.on</c>, a 503
/// answer to such a request is discarded unseen (<see cref="Discard503Transformer"/>) and the request redispatched,
/// as long as retries are left and a server not yet tried could take it; otherwise that 503 is relayed as it is.
/// </remarks>
public sealed partial class UpstreamForwarder : IDisposable
{
    /// <summary>The header the origin of a response sets to its node name.</summary>
    public const string ServedByHeader = "X-Served-By";

    private readonly string _proxyName;
    private readonly Backends _backends;
    private readonly Router _router;
    private readonly IHttpForwarder _forwarder;
    private readonly HttpTransformer _transformer;
    private readonly HttpTransformer _discard503Transformer;
    private readonly ILogger<UpstreamForwarder> _logger;
    private volatile CachedRequestConfig? _requestConfig;
    private readonly HttpMessageInvoker _client;
    private readonly IProxyObserver _observer;
    private readonly TimeProvider _time;
    private readonly IUpstreamErrorWriter _errorWriter;
    private readonly ProxyHeaders _proxyHeaders;
    private readonly RefusalLog _refusals;

    internal UpstreamForwarder(
        string proxyName,
        Backends backends,
        IHttpForwarder forwarder,
        ProxyHeaders proxyHeaders,
        IProxyObserver? observer,
        IUpstreamErrorWriter? errorWriter,
        TimeProvider time,
        ILogger<UpstreamForwarder> logger)
    {
        _observer = observer ?? NullProxyObserver.Instance;
        _errorWriter = errorWriter ?? PlainTextUpstreamErrorWriter.Instance;
        _time = time;
        _proxyName = proxyName;
        _backends = backends;
        _router = backends.Router;
        _forwarder = forwarder;
        _transformer = new ForwardingTransformer(proxyHeaders);
        _discard503Transformer = new Discard503Transformer(_transformer);
        _proxyHeaders = proxyHeaders;
        _logger = logger;
        _refusals = new RefusalLog(time, logger);
        _client = new HttpMessageInvoker(new SocketsHttpHandler
        {
            // What YARP recommends for a forwarding client: no proxy, redirects, cookies or decompression, and
            // no trace headers unless configured; connections are pooled and kept alive.
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            ActivityHeadersPropagator = null,
            ConnectTimeout = backends.Default.Backend.ConnectTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            EnableMultipleHttp2Connections = true,
            // Kestrel decoded non-ASCII header values as UTF-8 (invalid UTF-8 it refused): sent on as the same bytes.
            // HttpClient would refuse them otherwise, after a server was chosen.
            RequestHeaderEncodingSelector = static (_, _) => System.Text.Encoding.UTF8,
        });
    }

    /// <summary>Forwards the request, retrying on other servers where that is safe, or answers the error itself.</summary>
    public Task ForwardAsync(HttpContext context) => ForwardAsync(new KestrelProxyClient(context, this, _proxyHeaders)).AsTask();

    /// <summary>
    /// Whether <see cref="ConnectionForwarder"/> may serve requests itself now: not when a request must be seen
    /// whole to choose its server (hash balancing, a persistence cookie) or errors have their own writer.
    /// </summary>
    internal bool TakesConnectionRequests => _errorWriter is PlainTextUpstreamErrorWriter && _backends.NoPoolReadsRequests;

    /// <summary>Whether a route matches on paths: the connection path then leaves a path it would have to decode to Kestrel.</summary>
    internal bool RoutesByPath => _router.MatchesPaths;

    /// <summary>The client timeout of the default pool (Kestrel's keep-alive and request-head timeouts on this node).</summary>
    internal TimeSpan ClientTimeout => _backends.Default.Backend.ClientTimeout;

    /// <summary>The forwarded-header policy of this proxy.</summary>
    internal ProxyHeaders ProxyHeaders => _proxyHeaders;

    /// <summary>This proxy's name, as its own answers carry it in X-Served-By.</summary>
    internal string ProxyName => _proxyName;

    /// <summary>
    /// The one path of every request, whatever its client side: screen it, match a route, apply its request rules
    /// (answer, redirect or deny here; header edits), choose a server of the route's pool (persistence, balancing, the
    /// per-server limit and queue), forward it (the transport applies the header edits of both directions), retry or
    /// redispatch where that is safe, answer errors, record.
    /// </summary>
    /// <remarks>One async method for the whole request, retries included: each async method that waits allocates its state machine.</remarks>
    internal async ValueTask ForwardAsync<TClient>(TClient client)
        where TClient : IProxyClient
    {
        var started = _time.GetTimestamp();
        var pool = _backends.Default;
        try
        {
            if (client.Screen() is { } refusal)
            {
                await RefuseAsync(client, refusal);
                return;
            }

            // A web node routes before its static files (RouteAsync); the route then comes with the request.
            var route = client.Route;
            if (route is null)
            {
                route = _router.Match(client);
                if (route.AnswersOrDenies && route.Decide(client) is { Forwards: false } answer)
                {
                    pool = route.Pool;
                    await AnswerAsync(client, answer);
                    return;
                }

                client.Routed(route);
            }

            pool = route.Pool;
            var backend = pool.Backend;
            var retryAfterSend = !client.HasBody && backend.RetryMethods.Contains(client.Method);
            var retry503 = retryAfterSend && (backend.RetryOn & RetryConditions.Status503) != 0;
            var retriesLeft = backend.Retries;
            var pinned = backend.PersistenceCookie is { } cookie && client.Cookie(cookie) is { } name ? pool.Find(name) : null;
            ulong tried = 0;
            while (true)
            {
                Upstream upstream;
                if (pinned is not null && pool.TryAcquirePinned(pinned))
                {
                    upstream = pinned;
                }
                else
                {
                    var (acquired, failure) = await pool.AcquireAsync(client.Context, tried, client.Aborted);
                    if (acquired is null)
                    {
                        await client.WriteErrorAsync(StatusCodes.Status503ServiceUnavailable, Detail(pool, failure), close: false);
                        return;
                    }

                    upstream = acquired;
                }

                pinned = null;
                tried |= upstream.Index < 64 ? 1UL << upstream.Index : 0;
                client.Chose(upstream, backend);

                // A 503 is discarded only when it can be retried elsewhere; the last attempt relays whatever it gets.
                var discard503 = retry503 && retriesLeft > 0 && pool.HasUntried(tried);
                ForwardAttempt attempt;
                try
                {
                    attempt = await client.SendAsync(upstream, backend, discard503);
                }
                finally
                {
                    pool.Release(upstream);
                }

                var outcome = attempt.Outcome;
                if (outcome == ForwardOutcome.Answered)
                {
                    RecordAnswer(pool, upstream, client.Status);
                    if (client.Status == StatusCodes.Status503ServiceUnavailable && discard503 && !client.ResponseStarted)
                    {
                        // Discarded unseen (HAProxy retry-on 503 + redispatch): try a server not yet tried.
                        retriesLeft--;
                        _observer.Retried(pool, upstream);
                        client.ResetResponse();
                        continue;
                    }

                    return;
                }

                if (outcome == ForwardOutcome.ClientGone)
                {
                    return;
                }

                if (outcome == ForwardOutcome.Refused)
                {
                    if (!client.ResponseStarted)
                    {
                        await RefuseAsync(client, Refusal(attempt));
                    }

                    return;
                }

                CountFailure(pool, upstream, Describe(attempt));
                if (!client.ResponseStarted && retriesLeft > 0 && CanRetry(outcome, retryAfterSend, backend))
                {
                    retriesLeft--;
                    _observer.Retried(pool, upstream);
                    client.ResetResponse();
                    continue;
                }

                if (!client.ResponseStarted)
                {
                    var (status, detail) = Answer(pool, outcome);
                    await client.WriteErrorAsync(status, detail, close: false);
                }

                return;
            }
        }
        finally
        {
            _observer.RequestCompleted(pool, client.Status, _time.GetElapsedTime(started));
        }
    }

    /// <summary>
    /// A server answered: a 5xx counts as its failure, but 503 ("busy or degraded, try later" would not be helped by
    /// taking it out) and, as in HAProxy's <c>observe layer7</c>, 501 and 505, which say the client asked for what the
    /// server does not do.
    /// </summary>
    private void RecordAnswer(UpstreamPool pool, Upstream upstream, int status)
    {
        if (status >= 500 && status is not (StatusCodes.Status503ServiceUnavailable or StatusCodes.Status501NotImplemented or StatusCodes.Status505HttpVersionNotsupported))
        {
            CountFailure(pool, upstream, $"HTTP {status}");
        }
        else
        {
            upstream.RecordSuccess();
        }
    }

    /// <summary>Whether a failed attempt may be tried again on another server (retry-on), retries left aside.</summary>
    private static bool CanRetry(ForwardOutcome outcome, bool retryAfterSend, BackendSpec backend) => outcome switch
    {
        ForwardOutcome.NotSent => (backend.RetryOn & RetryConditions.ConnectionFailure) != 0,
        ForwardOutcome.FailedAfterSend => retryAfterSend && (backend.RetryOn & RetryConditions.EmptyResponse) != 0,
        ForwardOutcome.TimedOut => retryAfterSend && (backend.RetryOn & RetryConditions.ResponseTimeout) != 0,
        _ => false,
    };

    /// <summary>The answer to give when the last attempt failed before its response started.</summary>
    private static (int Status, string Detail) Answer(UpstreamPool pool, ForwardOutcome outcome) => outcome switch
    {
        ForwardOutcome.NotSent => (StatusCodes.Status503ServiceUnavailable, $"no {pool.TierName} server could be reached"),
        ForwardOutcome.TimedOut => (StatusCodes.Status504GatewayTimeout, $"the {pool.TierName} server did not answer in time"),
        _ => (StatusCodes.Status502BadGateway, $"the {pool.TierName} server failed to answer"),
    };

    private static string Detail(UpstreamPool pool, AcquireFailure failure) => failure switch
    {
        AcquireFailure.QueueFull => "every server is busy and the queue is full",
        AcquireFailure.QueueTimeout => "every server stayed busy for the queue timeout",
        _ => pool.NoServerDetail,
    };

    /// <summary>Answers what a route's rules decided: 403 through the node's error writer, a redirect or a fixed answer as written.</summary>
    private static ValueTask AnswerAsync<TClient>(TClient client, RuleAnswer answer)
        where TClient : IProxyClient =>
        answer.Status == StatusCodes.Status403Forbidden && answer.ContentType is null
            ? client.WriteErrorAsync(answer.Status, answer.Body, close: false)
            : client.WriteAnswerAsync(answer);

    /// <inheritdoc/>
    public void Dispose() => _client.Dispose();

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

    private sealed record CachedRequestConfig(BackendSpec Backend, ForwarderRequestConfig Config);

    private void CountFailure(UpstreamPool pool, Upstream upstream, string reason)
    {
        var inRow = upstream.RecordFailure();
        var limit = pool.Backend.PassiveFailures;
        if (limit > 0 && inRow >= limit && upstream.IsUp && pool.SetHealth(upstream, up: false))
        {
            LogPassiveDown(upstream.Name, inRow, reason);
        }
    }

    /// <summary>One attempt through YARP (requests with a body, upgrades).</summary>
    internal async ValueTask<ForwardAttempt> ForwardWithYarpAsync(HttpContext context, Upstream upstream, BackendSpec backend, bool discard503)
    {
        var error = await _forwarder.SendAsync(context, upstream.DestinationPrefix, _client, RequestConfig(backend), discard503 ? _discard503Transformer : _transformer);
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
            ForwarderError.ResponseBodyDestination or ForwarderError.UpgradeResponseDestination => ForwardOutcome.ResponseBroken,
            _ => ForwardOutcome.FailedAfterSend,
        };
        return new ForwardAttempt(outcome, exception);
    }

    private static bool IsConnectFailure(Exception? exception) => exception switch
    {
        HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } => true,
        HttpRequestException { InnerException: SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.TimedOut } } => true,
        _ => false,
    };

    private static string Describe(ForwardAttempt attempt)
    {
        var exception = attempt.Error;
        var detail = exception?.InnerException?.Message ?? exception?.Message ?? attempt.Outcome.ToString();
        return attempt.Outcome switch
        {
            ForwardOutcome.NotSent => $"connection failed: {detail}",
            ForwardOutcome.TimedOut => "no answer in time",
            _ => $"request failed: {detail}",
        };
    }

    /// <summary>The answer to a request the HTTP client would not send as it was.</summary>
    private static RequestScreen.Refusal Refusal(ForwardAttempt attempt) =>
        new(StatusCodes.Status400BadRequest, attempt.Error?.Message is { } message ? $"the request cannot be forwarded as sent ({message.TrimEnd('.')})" : "the request cannot be forwarded as sent");

    /// <summary>Answers a refused request and closes the connection after it (its framing may be in doubt); logged once per client per interval.</summary>
    private ValueTask RefuseAsync<TClient>(TClient client, RequestScreen.Refusal refusal)
        where TClient : IProxyClient
    {
        _refusals.Refused(client.Peer, client.Method, refusal);
        return client.WriteErrorAsync(refusal.Status, refusal.Detail, close: true);
    }

    /// <summary>
    /// The pipeline's routing stage ahead of a node's own content (a web node's static files): a request a rule answers
    /// is answered here, one whose route names another pool than the default is forwarded at once (nginx's
    /// <c>location</c> with <c>proxy_pass</c>), and the rest go on to <paramref name="next"/> with their route kept.
    /// </summary>
    internal async Task RouteAsync(HttpContext context, RequestDelegate next)
    {
        var client = new KestrelProxyClient(context, this, _proxyHeaders);
        var route = _router.Match(client);
        if (route.AnswersOrDenies && route.Decide(client) is { Forwards: false } answer)
        {
            var started = _time.GetTimestamp();
            await AnswerAsync(client, answer);
            _observer.RequestCompleted(route.Pool, client.Status, _time.GetElapsedTime(started));
            return;
        }

        KestrelProxyClient.Routed(context, route, keep: !_router.IsDefault(route));
        if (route.Pool != _backends.Default)
        {
            await ForwardAsync(client);
            return;
        }

        await next(context);
    }

    /// <summary>A route rule's own answer on Kestrel's response: a redirect (no body) or a fixed status and body.</summary>
    internal Task WriteAnswerAsync(HttpContext context, RuleAnswer answer)
    {
        var response = context.Response;
        response.Clear();
        response.StatusCode = answer.Status;
        response.Headers[ServedByHeader] = _proxyName;
        if (answer.Location is { } location)
        {
            response.Headers.Location = location;
            response.ContentLength = 0;
            return Task.CompletedTask;
        }

        var body = System.Text.Encoding.UTF8.GetBytes(answer.Body);
        response.ContentType = answer.ContentType;
        response.ContentLength = body.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(body).AsTask();
    }

    /// <summary>The proxy's own answer on Kestrel's response, written by the node's <see cref="IUpstreamErrorWriter"/>.</summary>
    internal Task WriteErrorAsync(HttpContext context, int status, string detail, bool close)
    {
        var response = context.Response;
        response.Clear();
        response.StatusCode = status;
        response.Headers[ServedByHeader] = _proxyName;
        if (close)
        {
            response.Headers.Connection = "close";
        }

        return _errorWriter.WriteAsync(context, new UpstreamError(status, detail));
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "{Upstream} DOWN after {Count} failed request(s): {Reason}")]
    private partial void LogPassiveDown(string upstream, int count, string reason);

}
