using System.Net.Http.Headers;
using Strata.Hosting.Telemetry;
using Strata.Proxy.Forwarding;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Strata.Proxy.Routing;
using Strata.Topology;
using Yarp.ReverseProxy.Forwarder;

namespace Strata.Proxy.Clients.Kestrel;

/// <summary>
/// YARP's default transform plus what every Strata proxy adds (<see cref="ProxyHeaders"/>), and every header
/// named in <c>Connection</c> removed in both directions (RFC 9110 §7.6.1; YARP 2.3 forwards them).
/// </summary>
internal sealed class ForwardingTransformer(ProxyHeaders proxyHeaders) : HttpTransformer
{
    public override async ValueTask TransformRequestAsync(
        HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);

        var request = httpContext.Request;
        var headers = proxyRequest.Headers;
        RemoveConnectionOptions(request.Headers.Connection, headers, proxyRequest.Content?.Headers);
        httpContext.Features.Get<UpstreamFeature>()?.Route?.RequestEdits.ApplyTo(proxyRequest);

        headers.Remove(HeaderNames.Via);
        headers.TryAddWithoutValidation(HeaderNames.Via, proxyHeaders.RequestVia(request));

        var forwardedFor = proxyHeaders.ForwardedForValue(httpContext, out var keepClientValues);
        headers.Remove(ProxyHeaders.ForwardedFor);
        headers.TryAddWithoutValidation(ProxyHeaders.ForwardedFor, forwardedFor);
        SetUnlessKept(headers, ProxyHeaders.ForwardedProto, request.Scheme, keepClientValues);
        SetUnlessKept(headers, ProxyHeaders.ForwardedHost, request.Host.Value ?? "", keepClientValues);
        TraceContextHeaders.Replace(headers);
        if (!keepClientValues)
        {
            foreach (var name in EdgeHeaders.ClientAddress)
            {
                headers.Remove(name);
            }
        }
    }

    public override async ValueTask<bool> TransformResponseAsync(
        HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        var copied = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
        if (proxyResponse is not null)
        {
            httpContext.Features.Get<UpstreamFeature>()?.ResponseHeadCame();
            foreach (var option in proxyResponse.Headers.Connection)
            {
                httpContext.Response.Headers.Remove(option);
            }
        }

        KestrelProxyClient.OnResponse(httpContext, proxyHeaders);
        return copied;
    }

    /// <summary>
    /// Removes the headers named in Connection. RequestScreen has refused options that are not header names or that
    /// name Content-Length, Transfer-Encoding or Host; the others are removed from the collection HttpClient keeps them
    /// in (it throws when asked to remove a content header from the request's headers, or the other way round).
    /// </summary>
    private static void RemoveConnectionOptions(StringValues connection, HttpHeaders headers, HttpContentHeaders? contentHeaders)
    {
        foreach (var value in connection)
        {
            foreach (var option in (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (HeaderEdits.IsContentHeader(option))
                {
                    contentHeaders?.Remove(option);
                }
                else
                {
                    headers.Remove(option);
                }
            }
        }
    }

    private static void SetUnlessKept(HttpRequestHeaders headers, string name, string value, bool keep)
    {
        if (keep && headers.Contains(name))
        {
            return;
        }

        headers.Remove(name);
        headers.TryAddWithoutValidation(name, value);
    }
}
