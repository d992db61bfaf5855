using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Forwarder;

namespace Strata.Proxy.Forwarding;

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

        headers.Remove(HeaderNames.Via);
        headers.TryAddWithoutValidation(HeaderNames.Via, proxyHeaders.RequestVia(request));

        var forwardedFor = proxyHeaders.ForwardedForValue(httpContext, out var keepClientValues);
        headers.Remove(ProxyHeaders.ForwardedFor);
        headers.TryAddWithoutValidation(ProxyHeaders.ForwardedFor, forwardedFor);
        if (proxyHeaders.IsEdge)
        {
            SetUnlessKept(headers, ProxyHeaders.ForwardedProto, request.Scheme, keepClientValues);
            SetUnlessKept(headers, ProxyHeaders.ForwardedHost, request.Host.Value ?? "", keepClientValues);
        }
    }

    public override async ValueTask<bool> TransformResponseAsync(
        HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        var copied = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
        if (proxyResponse is not null)
        {
            foreach (var option in proxyResponse.Headers.Connection)
            {
                httpContext.Response.Headers.Remove(option);
            }
        }

        proxyHeaders.OnResponse(httpContext);
        return copied;
    }

    private static void RemoveConnectionOptions(StringValues connection, HttpHeaders headers, HttpContentHeaders? contentHeaders)
    {
        foreach (var value in connection)
        {
            foreach (var option in (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                headers.Remove(option);
                contentHeaders?.Remove(option);
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
