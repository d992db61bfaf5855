using System.Collections.Immutable;

namespace Strata.Topology;

/// <summary>
/// Request headers the edge (the load balancers) does not take from a client unless it is one of
/// <see cref="Topology.TrustedProxies"/>: one list for Strata's proxies and for the exported HAProxy configuration.
/// </summary>
public static class EdgeHeaders
{
    /// <summary>
    /// Headers besides X-Forwarded-For/-Proto/-Host that frameworks and applications read as the client's address or
    /// the way it came in (RFC 7239 <c>Forwarded</c>; nginx's <c>X-Real-IP</c>; CDNs' <c>True-Client-IP</c>,
    /// <c>CF-Connecting-IP</c>, <c>Fastly-Client-IP</c>; Rails' <c>Client-IP</c>; ASP.NET Core's
    /// <c>X-Forwarded-Prefix</c>). Strata sets none of them, so at the edge a client's are removed: otherwise a client
    /// could claim any address to an application behind that trusts them.
    /// </summary>
    public static readonly ImmutableArray<string> ClientAddress =
    [
        "Forwarded", "X-Real-IP", "Client-IP", "X-Client-IP", "True-Client-IP", "CF-Connecting-IP", "Fastly-Client-IP",
        "X-Cluster-Client-IP", "X-Forwarded-Port", "X-Forwarded-Prefix",
    ];
}
