using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Forwarder;

namespace Strata.Proxy.Forwarding;

/// <summary>
/// YARP's default transform plus what every Strata proxy adds: its name appended to <c>Via</c> in both
/// directions (RFC 9110 §7.6.3), and the X-Forwarded-* headers. At the edge they are set from the real
/// connection and client-supplied values are dropped; behind the edge the client address is appended.
/// </summary>
internal sealed class ForwardingTransformer(string proxyName, bool isEdge) : HttpTransformer
{
    private const string ForwardedFor = "X-Forwarded-For";
    private const string ForwardedProto = "X-Forwarded-Proto";
    private const string ForwardedHost = "X-Forwarded-Host";

    private readonly string _via = $"1.1 {proxyName}";

    public override async ValueTask TransformRequestAsync(
        HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);

        var request = httpContext.Request;
        var headers = proxyRequest.Headers;
        headers.Remove(HeaderNames.Via);
        headers.TryAddWithoutValidation(HeaderNames.Via, Append(request.Headers.Via, _via));

        var clientAddress = httpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        headers.Remove(ForwardedFor);
        if (isEdge)
        {
            headers.Remove(ForwardedProto);
            headers.Remove(ForwardedHost);
            headers.TryAddWithoutValidation(ForwardedFor, clientAddress);
            headers.TryAddWithoutValidation(ForwardedProto, request.Scheme);
            headers.TryAddWithoutValidation(ForwardedHost, request.Host.Value);
        }
        else
        {
            headers.TryAddWithoutValidation(ForwardedFor, Append(request.Headers[ForwardedFor], clientAddress));
        }
    }

    public override async ValueTask<bool> TransformResponseAsync(
        HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        var copied = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
        var headers = httpContext.Response.Headers;
        headers.Via = Append(headers.Via, _via);
        return copied;
    }

    private static string Append(StringValues existing, string value) =>
        StringValues.IsNullOrEmpty(existing) ? value : $"{existing}, {value}";
}
