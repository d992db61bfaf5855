using System.Net;

namespace Strata.Orchestration.Drill;

/// <summary>
/// The site through the VIP, as the drill's clients reach it: one <see cref="HttpClient"/> over a
/// <see cref="SocketsHttpHandler"/> with pooled connections that live one second, so that the clients follow the VIP
/// to its new holder soon after it moves, no proxy, no redirects, no cookies, and the zone's name as Host.
/// </summary>
internal sealed class DrillSite : IDisposable
{
    private static readonly TimeSpan ConnectionLifetime = TimeSpan.FromSeconds(1);

    private readonly HttpClient _client;
    private readonly string _host;

    /// <param name="vip">The VIP's address: loopback, or inside the run's namespaces (the orchestrator checks).</param>
    /// <param name="host">The Host header, e.g. www.foobar.com.</param>
    /// <param name="clients">How many requests are in flight at most, each on a connection of its own.</param>
    /// <param name="connectTimeout">How long a connection may take to open.</param>
    public DrillSite(IPEndPoint vip, string host, int clients, TimeSpan connectTimeout)
    {
        Address = new Uri($"http://{vip}/");
        _host = host;
        _client = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            PooledConnectionLifetime = ConnectionLifetime,
            PooledConnectionIdleTimeout = ConnectionLifetime,
            ConnectTimeout = connectTimeout,
            MaxConnectionsPerServer = clients,
        })
        {
            // Each request has its own timeout (a token), so that a timeout is told apart from the drill's end.
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>The VIP as a URL.</summary>
    public Uri Address { get; }

    /// <summary>Sends <paramref name="request"/> with the site's Host header; the answer's headers are read, not yet its body.</summary>
    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.Host = _host;
        return _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }

    public void Dispose() => _client.Dispose();
}
