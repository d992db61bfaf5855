using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Strata.Web.Limits;

/// <summary>
/// A web node's early 413, ahead of its files and the forwarder. The limits themselves (nginx's
/// <c>client_max_body_size</c>, <c>large_client_header_buffers</c> and <c>client_body_timeout</c>) are Kestrel's,
/// set by <see cref="Proxy.ProxyServiceCollectionExtensions.ApplyClientLimits"/> on the web nodes and, at the edge, on
/// the load balancers.
/// </summary>
/// <remarks>
/// Kestrel answers a request line over the limit with 414, headers over the limit with 431, and a body over the
/// limit with 413 when it is read. Those rejected before the request line and headers are parsed never reach the
/// middleware (and so are not in the access log).
/// </remarks>
public static class ClientLimitsExtensions
{
    /// <summary>
    /// Answers 413 at once to a request whose Content-Length is over the body limit, before anything reads it:
    /// Kestrel would only refuse the body when it is read, and a forwarded request has by then been sent on to an
    /// app node, headers first.
    /// </summary>
    public static IApplicationBuilder UseRequestBodyLimit(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        var limit = context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
        if (context.Request.ContentLength > limit)
        {
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            // The unread body is not worth draining: close the connection after the answer, as nginx does.
            context.Response.Headers.Connection = "close";
            return Task.CompletedTask;
        }

        return next(context);
    });
}
