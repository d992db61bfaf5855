using System.Net;
using Strata.Topology;

namespace Strata.Web.AccessLog;

/// <summary>
/// What the middleware captures of one request: references to strings the request already holds and a few
/// numbers, nothing formatted. The writer turns it into a line off the request path.
/// </summary>
/// <param name="Time">When the response finished (UTC).</param>
/// <param name="Peer">The address of the connection's other end (a load balancer, or the client itself).</param>
/// <param name="ForwardedFor">The request's X-Forwarded-For, or null.</param>
/// <param name="Method">The request method.</param>
/// <param name="Target">The request target as sent (path and query, still percent-encoded).</param>
/// <param name="Protocol">E.g. HTTP/1.1.</param>
/// <param name="Status">The status the client got.</param>
/// <param name="Bytes">Response body bytes sent.</param>
/// <param name="Referer">The Referer header, or null.</param>
/// <param name="UserAgent">The User-Agent header, or null.</param>
/// <param name="Duration">From the request reaching the middleware to the end of the response.</param>
/// <param name="Upstream">The app node that answered (its X-Served-By), or null when the web node answered itself.</param>
/// <param name="Proxies">The proxies in front of the web node, whose X-Forwarded-For counts.</param>
internal readonly record struct AccessLogEntry(
    DateTimeOffset Time,
    IPAddress? Peer,
    string? ForwardedFor,
    string Method,
    string Target,
    string Protocol,
    int Status,
    long Bytes,
    string? Referer,
    string? UserAgent,
    TimeSpan Duration,
    string? Upstream,
    TrustedPeers Proxies)
{
    /// <summary>
    /// The client (nginx's <c>$remote_addr</c> after <c>real_ip</c>): behind a load balancer or trusted proxy, the
    /// address X-Forwarded-For names (<see cref="TrustedPeers.Client"/>); from anyone else, the peer, whatever
    /// X-Forwarded-For it sent.
    /// </summary>
    public string Remote => Proxies.Client(Peer, ForwardedFor);
}
