using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Strata.Hosting.Logs;
using Strata.Proxy.RequestLog;
using Strata.Proxy.Routing;
using Strata.Proxy.Upstreams;
using Strata.Topology;

namespace Strata.Proxy.Forwarding;

/// <summary>
/// The one request pipeline of a forwarding node, whatever the way in (<see cref="IProxyClient"/>: Kestrel's parsed
/// request, or a connection read below Kestrel's HTTP layer): screen, route, request rules, choose a server of the
/// route's pool, forward with retries and redispatch, answer errors, record. What YARP leaves out (yarp#56, #394) is
/// here: retries on another server, passive health, the per-server limit and queue, session persistence and error
/// answers with the right status and a small body. The client side sends each attempt; the pipeline never knows how.
/// </summary>
/// <remarks>
/// Retries follow HAProxy's <c>retry-on</c> with redispatch, by default <c>conn-failure empty-response
/// response-timeout</c>: a request whose connection could not be made is retried whatever its method (nothing was
/// sent); one that failed after being sent only when its method is idempotent and it has no body (the body cannot
/// be sent twice). Nothing is retried once the response has started. With <c>503</c> in <c>retries.on</c>, a 503
/// answer to such a request is discarded unseen by the client side and the request redispatched, as long as retries
/// are left and a server not yet tried could take it; otherwise that 503 is relayed as it is.
/// </remarks>
public sealed partial class UpstreamForwarder
{
    /// <summary>The header the origin of a response sets to its node name.</summary>
    public const string ServedByHeader = "X-Served-By";

    private readonly Backends _backends;
    private readonly Router _router;
    private readonly ILogger<UpstreamForwarder> _logger;
    private readonly IProxyObserver _observer;
    private readonly TimeProvider _time;
    private readonly RefusalLog _refusals;
    private readonly LogFileWriter<RequestLogEntry>? _requestLog;

    internal UpstreamForwarder(
        string proxyName,
        IPAddress? source,
        Backends backends,
        IProxyObserver? observer,
        TimeProvider time,
        ILogger<UpstreamForwarder> logger,
        LogFileWriter<RequestLogEntry>? requestLog = null)
    {
        _requestLog = requestLog;
        _observer = observer ?? NullProxyObserver.Instance;
        _time = time;
        ProxyName = proxyName;
        Source = source;
        _backends = backends;
        _router = backends.Router;
        _logger = logger;
        _refusals = new RefusalLog(time, logger);
    }

    /// <summary>Whether the node keeps a request log (which then reads what each attempt measured).</summary>
    internal bool LogsRequests => _requestLog is not null;

    /// <summary>This proxy's name, as Via and its own answers (X-Served-By) carry it.</summary>
    internal string ProxyName { get; }

    /// <summary>The address this proxy connects to its servers from (<see cref="UpstreamSocket"/>), or null for the kernel's choice.</summary>
    internal IPAddress? Source { get; }

    /// <summary>The node's pools and routes.</summary>
    internal Backends Backends => _backends;

    /// <summary>Whether a route matches on paths: the connection path then leaves a path it would have to decode to Kestrel.</summary>
    internal bool RoutesByPath => _router.MatchesPaths;

    /// <summary>Whether the node has routes at all (a node's own content then leaves requests to Kestrel's way in, which routes first).</summary>
    internal bool HasRoutes => _router.HasRoutes;

    /// <summary>The client timeout of the default pool (Kestrel's keep-alive and request-head timeouts on this node).</summary>
    internal TimeSpan ClientTimeout => _backends.Default.Backend.ClientTimeout;

    /// <summary>
    /// The routing stage alone, for a node that serves content of its own after routing (a web node's files): answers
    /// what a rule answers (null then), else tells the client its route and returns it.
    /// </summary>
    internal async ValueTask<Route?> RouteAsync<TClient>(TClient client)
        where TClient : IProxyClient
    {
        var route = Match(client, out var answer);
        if (answer.Forwards)
        {
            return route;
        }

        var started = _time.GetTimestamp();
        await AnswerAsync(client, answer);
        _observer.RequestCompleted(route.Pool, client.Status, _time.GetElapsedTime(started));
        return null;
    }

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
        // What the request log reads once the request has ended (docs/security.md): a few locals, timed only when it is on.
        var logging = _requestLog is not null;
        var logStarted = logging ? Stopwatch.GetTimestamp() : 0;
        Route? route = null;
        Upstream? server = null;
        long queued = -1;
        ForwardAttempt? last = null;
        var retries = 0;
        var end = Termination.Normal;
        try
        {
            if (client.Screen() is { } refusal)
            {
                end = new('P', 'R');
                await RefuseAsync(client, refusal);
                return;
            }

            // A web node routes before its static files (RouteAsync); the route then comes with the request.
            route = client.Route;
            if (route is null)
            {
                route = Match(client, out var answer);
                if (!answer.Forwards)
                {
                    pool = route.Pool;
                    end = new(answer.Status is StatusCodes.Status403Forbidden or StatusCodes.Status429TooManyRequests ? 'P' : 'L', 'R');
                    if (answer.Status == StatusCodes.Status429TooManyRequests)
                    {
                        _observer.RateLimited(route.Name);
                    }

                    await AnswerAsync(client, answer);
                    return;
                }
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
                    var waited = logging ? Stopwatch.GetTimestamp() : 0;
                    var (acquired, failure) = await pool.AcquireAsync(client.Context, tried, client.Aborted);
                    if (logging)
                    {
                        queued = Math.Max(queued, 0) + Stopwatch.GetTimestamp() - waited;
                    }

                    if (acquired is null)
                    {
                        end = failure switch
                        {
                            AcquireFailure.QueueFull => new('R', 'Q'),
                            AcquireFailure.QueueTimeout => new('s', 'Q'),
                            _ => new('S', 'C'),
                        };
                        await client.WriteErrorAsync(StatusCodes.Status503ServiceUnavailable, Detail(pool, failure), close: false);
                        return;
                    }

                    upstream = acquired;
                }

                pinned = null;
                server = upstream;
                tried |= upstream.Index < 64 ? 1UL << upstream.Index : 0;
                client.Chose(upstream, backend);

                // A 503 is discarded only when it can be retried elsewhere; the last attempt relays whatever it gets.
                var discard503 = retry503 && retriesLeft > 0 && pool.HasUntried(tried);
                var span = ProxyTracing.StartAttempt(client.Method, upstream);
                ForwardAttempt attempt = default;
                try
                {
                    attempt = await client.SendAsync(upstream, backend, discard503);
                }
                finally
                {
                    pool.Release(upstream);
                    if (span is not null)
                    {
                        ProxyTracing.End(span, client.Status, attempt.Outcome);
                    }
                }

                last = attempt;
                var outcome = attempt.Outcome;
                if (outcome == ForwardOutcome.Answered)
                {
                    RecordAnswer(pool, upstream, client.Status);
                    if (client.Status == StatusCodes.Status503ServiceUnavailable && discard503 && !client.ResponseStarted)
                    {
                        // Discarded unseen (HAProxy retry-on 503 + redispatch): try a server not yet tried.
                        retriesLeft--;
                        retries++;
                        _observer.Retried(pool, upstream);
                        client.ResetResponse();
                        continue;
                    }

                    return;
                }

                if (outcome == ForwardOutcome.ClientGone)
                {
                    end = new('C', client.ResponseStarted ? 'D' : 'H');
                    return;
                }

                if (outcome == ForwardOutcome.Refused)
                {
                    end = new('P', 'R');
                    if (!client.ResponseStarted)
                    {
                        await RefuseAsync(client, Refusal(attempt));
                    }

                    return;
                }

                if (outcome != ForwardOutcome.BodyRefused)
                {
                    CountFailure(pool, upstream, Describe(attempt));
                }

                if (!client.ResponseStarted && retriesLeft > 0 && CanRetry(outcome, retryAfterSend, backend))
                {
                    retriesLeft--;
                    retries++;
                    _observer.Retried(pool, upstream);
                    client.ResetResponse();
                    continue;
                }

                end = Ended(outcome, client.ResponseStarted);
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
            if (logging)
            {
                Log(client, logStarted, route, pool, server, queued, last, retries, end);
            }
        }
    }

    /// <summary>The termination state of a request whose last attempt failed and was not retried.</summary>
    private static Termination Ended(ForwardOutcome outcome, bool responseStarted) => outcome switch
    {
        ForwardOutcome.NotSent => new('S', 'C'),
        ForwardOutcome.TimedOut => new('s', 'H'),
        ForwardOutcome.FailedAfterSend => new('S', 'H'),
        ForwardOutcome.BodyRefused => new('S', 'D'),
        // A response that could be read two ways is refused by the proxy (HAProxy's PH); one that broke in its body is the server's.
        _ => responseStarted ? new('S', 'D') : new('P', 'H'),
    };

    /// <summary>Queues the request log's entry for a request that has ended; nothing formatted here.</summary>
    private void Log<TClient>(TClient client, long logStarted, Route? route, UpstreamPool pool, Upstream? server, long queued, ForwardAttempt? last, int retries, Termination end)
        where TClient : IProxyClient
    {
        var now = Stopwatch.GetTimestamp();
        var first = client.Started != 0 ? client.Started : logStarted;
        var answered = last is { Outcome: ForwardOutcome.Answered } && end == Termination.Normal;
        var gone = end.Cause == 'C' && !client.ResponseStarted;
        _requestLog!.TryWrite(new RequestLogEntry(
            _time.GetUtcNow() - Stopwatch.GetElapsedTime(first, now),
            client.Peer,
            client.PeerPort,
            client.LocalAddress,
            client.LocalPort,
            client.Scheme == "https",
            route?.Name ?? "-",
            pool.TierName,
            server?.Name,
            new PhaseTimes(client.Started != 0 ? logStarted - client.Started : -1, queued, last?.Connect ?? -1, last?.Response ?? -1, now - first),
            gone ? -1 : client.Status,
            answered ? last!.Value.Bytes : gone ? 0 : client.AnswerBytes,
            retries,
            end,
            client.Method,
            client.RequestUri,
            client.Protocol));
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
        ForwardOutcome.BodyRefused => (StatusCodes.Status502BadGateway, $"the {pool.TierName} server closed the connection before taking the whole request body"),
        _ => (StatusCodes.Status502BadGateway, $"the {pool.TierName} server failed to answer"),
    };

    private static string Detail(UpstreamPool pool, AcquireFailure failure) => failure switch
    {
        AcquireFailure.QueueFull => "every server is busy and the queue is full",
        AcquireFailure.QueueTimeout => "every server stayed busy for the queue timeout",
        _ => pool.NoServerDetail,
    };

    /// <summary>
    /// The route <paramref name="client"/>'s request takes, and what its rules decide (<paramref name="answer"/>); a
    /// request that is forwarded has its route told to the client.
    /// </summary>
    private Route Match<TClient>(TClient client, out RuleAnswer answer)
        where TClient : IProxyClient
    {
        var route = _router.Match(client);
        answer = route.AnswersOrDenies ? route.Decide(client) : default;
        if (answer.Forwards)
        {
            client.Routed(route);
        }

        return route;
    }

    /// <summary>Answers what a route's rules decided: 403 through the node's error writer, a redirect or a fixed answer as written.</summary>
    private static ValueTask AnswerAsync<TClient>(TClient client, RuleAnswer answer)
        where TClient : IProxyClient =>
        answer.Status == StatusCodes.Status403Forbidden && answer.ContentType is null
            ? client.WriteErrorAsync(answer.Status, answer.Body, close: false)
            : client.WriteAnswerAsync(answer);

    private void CountFailure(UpstreamPool pool, Upstream upstream, string reason)
    {
        var inRow = upstream.RecordFailure();
        var limit = pool.Backend.PassiveFailures;
        if (limit > 0 && inRow >= limit && upstream.IsUp && pool.SetHealth(upstream, up: false))
        {
            LogPassiveDown(upstream.Name, inRow, reason);
        }
    }

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


    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "{Upstream} DOWN after {Count} failed request(s): {Reason}")]
    private partial void LogPassiveDown(string upstream, int count, string reason);

}
