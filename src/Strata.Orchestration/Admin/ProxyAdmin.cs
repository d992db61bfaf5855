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
            if (!response.IsSuccessStatusCode)
            {
                return null;
            }

            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            foreach (var backend in json.RootElement.GetProperty("backends").EnumerateArray())
            {
                foreach (var entry in backend.GetProperty("servers").EnumerateArray())
                {
                    if (entry.GetProperty("name").GetString() == server)
                    {
                        return (entry.GetProperty("state").GetString() ?? "", entry.GetProperty("activeRequests").GetInt32());
                    }
                }
            }

            return null;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
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
}
