using System.Net.Http.Json;
using System.Text.Json;
using Strata.Topology;

namespace Strata.Orchestration.Status;

/// <summary>
/// Asks a running node over HTTP whether it is ready, a load balancer whether it holds the VIP, and a node for one of its
/// management pages (the dashboard's /stats and /metrics).
/// </summary>
/// <param name="timeout">How long one question may take [5 s: generous, since on a loaded machine a node can take a
/// while to answer, and that is not "not ready"].</param>
internal sealed class NodeProbe(TimeSpan? timeout = null) : IDisposable
{
    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromSeconds(5) })
    {
        Timeout = timeout ?? TimeSpan.FromSeconds(5),
    };

    public async Task<bool> IsReadyAsync(NodeSpec node, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _client.GetAsync(new Uri(node.ManagementUrl, "readyz"), cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>The load balancer's VRRP state and priority, or null when it does not answer.</summary>
    public async Task<VrrpStatus?> VrrpAsync(NodeSpec node, CancellationToken cancellationToken)
    {
        try
        {
            var body = await _client.GetFromJsonAsync<JsonElement>(new Uri(node.ManagementUrl, "vip"), cancellationToken);
            return new VrrpStatus(
                body.GetProperty("state").GetString() ?? "",
                body.GetProperty("priority").GetInt32(),
                body.GetProperty("listening").GetBoolean());
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException or InvalidOperationException
            && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>The body of <paramref name="path"/> on the node's management address, or null when it does not answer 2xx in time.</summary>
    public async Task<string?> GetAsync(NodeSpec node, string path, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _client.GetAsync(new Uri(node.ManagementUrl, path), cancellationToken);
            return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync(cancellationToken) : null;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    public void Dispose() => _client.Dispose();
}
