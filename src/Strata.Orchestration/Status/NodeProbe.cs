using System.Net.Http.Json;
using System.Text.Json;
using Strata.Topology;

namespace Strata.Orchestration.Status;

/// <summary>Asks a running node over HTTP whether it is ready, and a load balancer whether it holds the VIP.</summary>
internal sealed class NodeProbe : IDisposable
{
    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromSeconds(5) })
    {
        // Generous: on a loaded machine a node can take a while to answer, and that is not "not ready".
        Timeout = TimeSpan.FromSeconds(5),
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

    public void Dispose() => _client.Dispose();
}
