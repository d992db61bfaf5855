using System.Net;

namespace Strata.Proxy.Routing;

/// <summary>What routes and rules read of a request, whatever the way in.</summary>
internal interface IRoutedRequest
{
    /// <summary>The method.</summary>
    string Method { get; }

    /// <summary>The client's address.</summary>
    IPAddress? Peer { get; }

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
