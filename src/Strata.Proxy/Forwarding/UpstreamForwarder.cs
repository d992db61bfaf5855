using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Strata.Proxy.Upstreams;
using Yarp.ReverseProxy.Forwarder;

namespace Strata.Proxy.Forwarding;

/// <summary>
/// Forwards a request to the next healthy server of a pool through YARP's <see cref="IHttpForwarder"/>.
/// A server that refuses the connection is taken out at once (passive health), ahead of the next active check.
/// </summary>
public sealed partial class UpstreamForwarder : IDisposable
{
    /// <summary>The header the origin of a response sets to its node name.</summary>
    public const string ServedByHeader = "X-Served-By";

    private static readonly ForwarderRequestConfig RequestConfig = new() { ActivityTimeout = TimeSpan.FromSeconds(60) };

    private readonly string _proxyName;
    private readonly UpstreamPool _pool;
    private readonly IHttpForwarder _forwarder;
    private readonly HttpTransformer _transformer;
    private readonly ILogger<UpstreamForwarder> _logger;
    private readonly HttpMessageInvoker _client = new(new SocketsHttpHandler
    {
        // The settings YARP recommends for a forwarding client: no proxy, redirects, cookies or decompression.
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        ActivityHeadersPropagator = null,
        ConnectTimeout = TimeSpan.FromSeconds(2),
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
    });

    internal UpstreamForwarder(
        string proxyName, UpstreamPool pool, IHttpForwarder forwarder, ForwardingTransformer transformer, ILogger<UpstreamForwarder> logger)
    {
        _proxyName = proxyName;
        _pool = pool;
        _forwarder = forwarder;
        _transformer = transformer;
        _logger = logger;
    }

    /// <summary>Forwards the request, or answers 503 with Retry-After when no server is healthy.</summary>
    public async Task ForwardAsync(HttpContext context)
    {
        var upstream = _pool.Next();
        if (upstream is null)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = "1";
            context.Response.Headers[ServedByHeader] = _proxyName;
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync($"503 Service Unavailable: no healthy {_pool.TierName} node\n");
            return;
        }

        var error = await _forwarder.SendAsync(context, upstream.DestinationPrefix, _client, RequestConfig, _transformer);
        if (error == ForwarderError.Request && IsConnectFailure(context) && upstream.TrySetHealthy(false))
        {
            LogPassiveDown(upstream.Node.Name);
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _client.Dispose();

    private static bool IsConnectFailure(HttpContext context) =>
        context.GetForwarderErrorFeature()?.Exception is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError }
            or HttpRequestException { InnerException: SocketException };

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "{Upstream} DOWN: connection failed while forwarding")]
    private partial void LogPassiveDown(string upstream);
}
