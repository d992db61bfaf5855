using System.Net;

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
    string? Upstream)
{
    /// <summary>
    /// The client: the first X-Forwarded-For entry when there is one, else the peer. Behind the load balancers the
    /// first entry is the address the load balancer saw (it overwrites X-Forwarded-For from untrusted clients,
    /// see ForwardingTransformer), so this is the real client; a web node reached directly trusts it as given.
    /// </summary>
    public string Remote
    {
        get
        {
            if (!string.IsNullOrEmpty(ForwardedFor))
            {
                var comma = ForwardedFor.IndexOf(',');
                var first = (comma < 0 ? ForwardedFor : ForwardedFor[..comma]).Trim();
                if (first.Length > 0)
                {
                    return first;
                }
            }

            return Peer?.ToString() ?? "-";
        }
    }
}
