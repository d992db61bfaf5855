using System.Net;

namespace Strata.Proxy.Routing;

/// <summary>What routes and rules read of a request, whatever the way in.</summary>
internal interface IRoutedRequest
{
    /// <summary>The method.</summary>
    string Method { get; }

    /// <summary>The client's address.</summary>
    IPAddress? Peer { get; }

    /// <summary>
    /// The client a rate limit counts: the peer, or, when the peer's X-Forwarded-For is kept (a trusted proxy at the
    /// edge; the load balancer in front of a web node), the client its X-Forwarded-For names, read right to left past
    /// trusted proxies as every tier reads it (nginx's <c>real_ip_header X-Forwarded-For</c> with
    /// <c>real_ip_recursive on</c>). Read only for a route with a limit.
    /// </summary>
    IPAddress? LimitedClient { get; }

    /// <summary>"http" or "https".</summary>
    string Scheme { get; }

    /// <summary>The Host header's value as sent, port included ("" without one).</summary>
    string Host { get; }

    /// <summary>The decoded path, which path prefixes are matched against.</summary>
    string Path { get; }

    /// <summary>The request-target as sent: path and query (nginx's <c>$request_uri</c>).</summary>
    string RequestUri { get; }

    /// <summary>The header's value (several joined by ", "), or null without one.</summary>
    string? Header(string name);
}
