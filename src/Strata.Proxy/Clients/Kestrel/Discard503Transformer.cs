using System.Net;
using Strata.Proxy.Forwarding;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Strata.Proxy.Clients.Kestrel;

/// <summary>
/// The forwarding transform for an attempt whose 503 answer may be retried on another server (<c>retries.on</c>
/// with <c>503</c>): a 503 is neither copied nor relayed (YARP sets the status, then skips the body when the
/// response transform returns false), so nothing has reached the client and <see cref="UpstreamForwarder"/> can
/// try the next server. Every other answer goes through <paramref name="inner"/> unchanged.
/// </summary>
/// <remarks>
/// A second transformer instance, chosen per attempt, rather than a per-request flag: requests that succeed pay
/// nothing (no feature, no allocation), and a 503 answered through this transformer is known to be unseen.
/// </remarks>
internal sealed class Discard503Transformer(HttpTransformer inner) : HttpTransformer
{
    public override ValueTask TransformRequestAsync(
        HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken) =>
        inner.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);

    public override ValueTask<bool> TransformResponseAsync(
        HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken) =>
        proxyResponse?.StatusCode == HttpStatusCode.ServiceUnavailable
            ? ValueTask.FromResult(false)
            : inner.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);

    public override ValueTask TransformResponseTrailersAsync(
        HttpContext httpContext, HttpResponseMessage proxyResponse, CancellationToken cancellationToken) =>
        inner.TransformResponseTrailersAsync(httpContext, proxyResponse, cancellationToken);
}
