using Microsoft.AspNetCore.Http;
using Strata.Hosting.Telemetry;
using Strata.Topology;
using Yarp.ReverseProxy.Forwarder;

namespace Strata.App.External;

/// <summary>
/// What the user's application is told about the client: from a proxy in front (a web node, a trusted proxy) the
/// headers as it wrote them; from any other peer (a client talking to the app node straight) X-Forwarded-For/-Proto/-Host
/// from the connection and the other client-address headers (<see cref="EdgeHeaders.ClientAddress"/>) removed, as
/// every Strata proxy does, so a client's own claim never reaches the application. While the node traces, the
/// application's parent span is the app node's (<see cref="TraceContextHeaders"/>).
/// </summary>
internal sealed class ClientHeadersTransformer(TrustedPeers proxiesInFront) : HttpTransformer
{
    private static readonly string[] Replaced = ["X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", .. EdgeHeaders.ClientAddress];

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
        TraceContextHeaders.Replace(proxyRequest.Headers);
        var peer = httpContext.Connection.RemoteIpAddress;
        if (proxiesInFront.Contains(peer))
        {
            return;
        }

        var headers = proxyRequest.Headers;
        foreach (var name in Replaced)
        {
            headers.Remove(name);
        }

        headers.TryAddWithoutValidation("X-Forwarded-For", peer?.ToString() ?? "unknown");
        headers.TryAddWithoutValidation("X-Forwarded-Proto", httpContext.Request.Scheme);
        headers.TryAddWithoutValidation("X-Forwarded-Host", httpContext.Request.Host.Value ?? "");
    }
}
