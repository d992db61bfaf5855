using System.Net.Http.Json;
using System.Text.Json;
using Strata.Topology;

namespace Strata.Orchestration.Status;

/// <summary>Asks a running node over HTTP whether it is ready, and a load balancer whether it holds the VIP.</summary>
internal sealed class NodeProbe : IDisposable
{
    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromSeconds(5) })
    {
        Timeout = TimeSpan.FromSeconds(2),
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

    /// <summary>Whether the load balancer says it is VIP master.</summary>
    public async Task<bool> IsVipMasterAsync(NodeSpec node, CancellationToken cancellationToken)
    {
        try
        {
            var body = await _client.GetFromJsonAsync<JsonElement>(new Uri(node.ManagementUrl, "vip"), cancellationToken);
            return body.TryGetProperty("state", out var state) && state.GetString() == "master";
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    public void Dispose() => _client.Dispose();
}
