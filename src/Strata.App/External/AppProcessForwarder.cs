using System.Net;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;
using Strata.Topology;
using TopologyModel = Strata.Topology.Topology;

namespace Strata.App.External;

/// <summary>
/// Relays a request to the user's application with YARP's forwarder, unchanged (Host and, from the proxies in front,
/// X-Forwarded-* as received: <see cref="ClientHeadersTransformer"/>); while the application is down it answers 503
/// with Retry-After at once.
/// </summary>
internal sealed class AppProcessForwarder : IDisposable
{
    private readonly IHttpForwarder _forwarder;
    private readonly AppProcessSupervisor _supervisor;
    private readonly HttpMessageInvoker _client;
    private readonly ForwarderRequestConfig _config;
    private readonly ClientHeadersTransformer _transformer;

    public AppProcessForwarder(IHttpForwarder forwarder, AppProcessSupervisor supervisor, TopologyModel topology)
    {
        _forwarder = forwarder;
        _supervisor = supervisor;
        _config = new ForwarderRequestConfig { ActivityTimeout = topology.AppBackend.ServerTimeout };
        _transformer = new ClientHeadersTransformer(topology.ProxiesInFront(NodeRole.App));
        _client = new HttpMessageInvoker(new SocketsHttpHandler
        {
            // YARP's recommended forwarding client; a loopback connect either succeeds or is refused at once.
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            ActivityHeadersPropagator = null,
            ConnectTimeout = TimeSpan.FromSeconds(2),
            // Kestrel decoded non-ASCII header values as UTF-8: sent on as the same bytes (HttpClient refuses them otherwise).
            RequestHeaderEncodingSelector = static (_, _) => System.Text.Encoding.UTF8,
        });
    }

    /// <summary>Forwards the request to the application, or answers 503 while it is not running.</summary>
    public async Task ForwardAsync(HttpContext context)
    {
        if (_supervisor.Destination is not { } destination)
        {
            await UnavailableAsync(context);
            return;
        }

        var error = await _forwarder.SendAsync(context, destination.GetLeftPart(UriPartial.Authority), _client, _config, _transformer);
        if (error == ForwarderError.RequestCreation && !context.Response.HasStarted)
        {
            // The request could not be built from what the client sent: the client's fault, not the application's.
            context.Response.Clear();
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            context.Response.Headers.Connection = "close";
            await context.Response.WriteAsync("400 Bad Request: the request cannot be forwarded as sent\n", context.RequestAborted);
        }
        else if (error == ForwarderError.Request && !context.Response.HasStarted)
        {
            // No response at all: refused (started but not listening yet) or reset (it just died, taking a pooled
            // connection with it). Either way the supervisor is on it, so "try again shortly" rather than 502.
            context.Response.Clear();
            await UnavailableAsync(context);
        }
    }

    public void Dispose() => _client.Dispose();

    private static Task UnavailableAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.RetryAfter = "1";
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync("503 Service Unavailable: the application is not running; it is being restarted\n", context.RequestAborted);
    }
}
