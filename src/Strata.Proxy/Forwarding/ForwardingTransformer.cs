using System.Collections.Immutable;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Strata.Proxy.Upstreams;
using Yarp.ReverseProxy.Forwarder;

namespace Strata.Proxy.Forwarding;

/// <summary>
/// YARP's default transform plus what every Strata proxy adds:
/// <list type="bullet">
/// <item>its name appended to <c>Via</c> in both directions (RFC 9110 §7.6.3);</item>
/// <item>every header named in <c>Connection</c> removed in both directions (RFC 9110 §7.6.1; YARP 2.3 forwards them);</item>
/// <item>X-Forwarded-For/-Proto/-Host: at the edge set from the real connection, client values kept only from a
/// trusted proxy; behind the edge the peer's address is appended;</item>
/// <item>the persistence cookie, when the backend has one and the client does not carry the right value.</item>
/// </list>
/// </summary>
internal sealed class ForwardingTransformer(string proxyName, bool isEdge, ImmutableArray<IPNetwork> trustedProxies, UpstreamPool pool)
    : HttpTransformer
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
        RemoveConnectionOptions(request.Headers.Connection, headers, proxyRequest.Content?.Headers);

        headers.Remove(HeaderNames.Via);
        headers.TryAddWithoutValidation(HeaderNames.Via, Append(request.Headers.Via, _via));

        var peer = httpContext.Connection.RemoteIpAddress;
        var peerText = peer?.ToString() ?? "unknown";
        var keepClientValues = !isEdge || (peer is not null && IsTrusted(peer));
        headers.Remove(ForwardedFor);
        headers.TryAddWithoutValidation(ForwardedFor, keepClientValues ? Append(request.Headers[ForwardedFor], peerText) : peerText);
        if (isEdge)
        {
            SetUnlessKept(headers, ForwardedProto, request.Scheme, keepClientValues);
            SetUnlessKept(headers, ForwardedHost, request.Host.Value ?? "", keepClientValues);
        }
    }

    public override async ValueTask<bool> TransformResponseAsync(
        HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        var copied = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
        var headers = httpContext.Response.Headers;
        if (proxyResponse is not null)
        {
            foreach (var option in proxyResponse.Headers.Connection)
            {
                headers.Remove(option);
            }
        }

        headers.Via = Append(headers.Via, _via);

        if (pool.Backend.PersistenceCookie is { } persistenceCookie
            && httpContext.Features.Get<UpstreamFeature>()?.Upstream is { } upstream
            && httpContext.Request.Cookies[persistenceCookie] != upstream.Name)
        {
            headers.Append(HeaderNames.SetCookie, $"{persistenceCookie}={upstream.Name}; Path=/; HttpOnly; SameSite=Lax");
        }

        return copied;
    }

    private bool IsTrusted(IPAddress peer)
    {
        foreach (var network in trustedProxies)
        {
            if (network.Contains(peer))
            {
                return true;
            }
        }

        return false;
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

    private static string Append(StringValues existing, string value) =>
        StringValues.IsNullOrEmpty(existing) ? value : $"{existing}, {value}";
}
