using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Strata.Topology;

namespace Strata.Web.Limits;

/// <summary>
/// What a web node accepts from clients, like nginx's <c>client_max_body_size</c>, <c>large_client_header_buffers</c>
/// and <c>client_body_timeout</c>, enforced by Kestrel itself.
/// </summary>
/// <remarks>
/// Kestrel answers a request line over the limit with 414, headers over the limit with 431, and a body over the
/// limit with 413 when it is read. Those rejected before the request line and headers are parsed never reach the
/// middleware (and so are not in the access log).
/// </remarks>
public static class ClientLimitsExtensions
{
    /// <summary>How long an upload may be slower than the minimum rate before Kestrel closes it (nginx counts 60 s of silence).</summary>
    public static readonly TimeSpan MinBodyRateGracePeriod = TimeSpan.FromSeconds(5);

    /// <summary>Sets Kestrel's request limits from <paramref name="web"/>.</summary>
    public static void ApplyClientLimits(this KestrelServerOptions kestrel, WebSpec web)
    {
        kestrel.Limits.MaxRequestBodySize = web.MaxBodyBytes;
        kestrel.Limits.MaxRequestLineSize = web.MaxRequestLineBytes;
        kestrel.Limits.MaxRequestHeadersTotalSize = web.MaxHeaderBytes;
        kestrel.Limits.MinRequestBodyDataRate = web.MinBodyBytesPerSecond == 0
            ? null
            : new MinDataRate(web.MinBodyBytesPerSecond, MinBodyRateGracePeriod);
    }

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
