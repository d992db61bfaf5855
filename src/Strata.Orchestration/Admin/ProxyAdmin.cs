using System.Net.Http.Headers;
using System.Text.Json;
using Strata.Topology;

namespace Strata.Orchestration.Admin;

/// <summary>
/// The admin API of the proxies in front of a server (the load balancers before a web node, the web nodes before an
/// app node): what <c>strata drain|ready|maint</c> and <c>strata scale</c> tell them, and how they see the server.
/// </summary>
public sealed class ProxyAdmin(string token) : IDisposable
{
    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>What one proxy said: a line for the user, and whether it agreed.</summary>
    public readonly record struct Answer(string Line, bool Ok);

    /// <summary>The role of the proxies in front of <paramref name="server"/>.</summary>
    public static NodeRole FrontOf(NodeSpec server) => server.Role == NodeRole.Web ? NodeRole.LoadBalancer : NodeRole.Web;

    /// <summary>Tells <paramref name="proxy"/> to <paramref name="action"/> (drain, ready, maintenance) <paramref name="server"/>.</summary>
    public async Task<Answer> TellAsync(NodeSpec proxy, string server, string action, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(proxy.ManagementUrl, $"admin/servers/{Uri.EscapeDataString(server)}/{action}"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        try
        {
            using var response = await _client.SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return new($"strata: {proxy.Name}: HTTP {(int)response.StatusCode}: {Detail(body)}", false);
            }

            using var json = JsonDocument.Parse(body);
            return new($"{proxy.Name}: {server} {json.RootElement.GetProperty("state").GetString()}", true);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
        {
            return new($"strata: {proxy.Name}: {ex.Message}", false);
        }
    }

    /// <summary>
    /// How <paramref name="proxy"/> sees <paramref name="server"/>: its state (UP, DOWN, DRAIN, MAINT...) and the requests
    /// it has in flight there; null when the proxy does not answer or does not know the server.
    /// </summary>
    public async Task<(string State, int Active)?> ServerAsync(NodeSpec proxy, string server, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(proxy.ManagementUrl, "admin/servers"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        try
        {
            using var response = await _client.SendAsync(request, cancellationToken);
            return response.IsSuccessStatusCode
                && ReadServers(await response.Content.ReadAsStringAsync(cancellationToken)).FirstOrDefault(s => s.Name == server) is { Name: not null } seen
                    ? (seen.State, seen.Active)
                    : null;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>
    /// Every server of every pool in a proxy's report (the body of <c>GET /admin/servers</c> and of the open
    /// <c>/stats?format=json</c>); empty when the body is not such a report. Fields a newer node adds are ignored.
    /// </summary>
    public static IReadOnlyList<ServerView> ReadServers(string report)
    {
        try
        {
            return JsonSerializer.Deserialize<Report>(report, Json)?.Backends?.SelectMany(b => b.Servers ?? []).Where(s => s.Name is not null)
                .Select(s => new ServerView(s.Name!, s.State ?? "", s.ActiveRequests, s.TotalRequests, s.TotalFailures, s.LastCheck?.Detail))
                .ToList() ?? [];
        }
        catch (JsonException)
        {
            return [];
        }
    }

    public void Dispose() => _client.Dispose();

    /// <summary>The detail of a problem+json answer, else the body itself.</summary>
    private static string Detail(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.TryGetProperty("detail", out var detail) ? detail.GetString() ?? body : body;
        }
        catch (JsonException)
        {
            return body;
        }
    }

    // The report's shape, as Strata.Proxy's StatsReport writes it (this room does not reference the proxy's).
    private sealed record Report(IReadOnlyList<Backend>? Backends);

    private sealed record Backend(IReadOnlyList<Server>? Servers);

    private sealed record Server(string? Name, string? State, int ActiveRequests, long TotalRequests, long TotalFailures, Check? LastCheck);

    private sealed record Check(string? Detail);
}

/// <summary>One server as a proxy in front sees it.</summary>
/// <param name="Name">The server's node name.</param>
/// <param name="State">UP, DOWN, DRAIN or MAINT.</param>
/// <param name="Active">Requests the proxy has in flight there.</param>
/// <param name="Requests">Requests the proxy sent it since the proxy started.</param>
/// <param name="Failures">Of those, the ones that failed on it.</param>
/// <param name="Check">The proxy's last health check of it ("passed", "HTTP 503"...), or null before the first.</param>
public readonly record struct ServerView(string Name, string State, int Active, long Requests, long Failures, string? Check);
