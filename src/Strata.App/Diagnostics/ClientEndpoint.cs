using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Strata.Topology;

namespace Strata.App.Diagnostics;

/// <summary>
/// <c>GET /api/client</c> (and POST, which the proxies forward another way, with its body): the client as this
/// application sees it — the address and scheme after the proxies' X-Forwarded-For/-Proto, and the other headers that
/// claim a client's address (<see cref="EdgeHeaders.ClientAddress"/>) as they arrived:
/// <c>{"address":"203.0.113.7","scheme":"https","headers":{}}</c>. Like httpbin's <c>/ip</c>, a way to check what the
/// proxies in front pass on, and that a client's own claims do not get through.
/// </summary>
internal static class ClientEndpoint
{
    public const string Path = "/api/client";

    public static IEndpointRouteBuilder MapClientEndpoint(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapMethods(Path, [HttpMethods.Get, HttpMethods.Post], (HttpContext context) => Results.Json(new
        {
            address = context.Connection.RemoteIpAddress?.ToString(),
            scheme = context.Request.Scheme,
            headers = EdgeHeaders.ClientAddress
                .Where(context.Request.Headers.ContainsKey)
                .ToDictionary(name => name, name => context.Request.Headers[name].ToString()),
        }));
        return endpoints;
    }
}
