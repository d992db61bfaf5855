using System.Net.Http.Json;
using System.Text.Json;
using Strata.Data.Managed;
using Strata.Topology;

namespace Strata.Orchestration.Status;

/// <summary>
/// Asks a running node over HTTP whether it is ready, a load balancer whether it holds the VIP, a proxy what it sees of
/// its servers, and a node for one of its management pages (the dashboard's /metrics).
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
    public Task<VrrpStatus?> VrrpAsync(NodeSpec node, CancellationToken cancellationToken) =>
        GetJsonAsync(node, "vip", body => new VrrpStatus(
            body.GetProperty("state").GetString() ?? "",
            body.GetProperty("priority").GetInt32(),
            body.GetProperty("listening").GetBoolean()), cancellationToken);

    /// <summary>A managed database node's <c>/db/state</c>, or null when it does not answer.</summary>
    public Task<ReplicationStatus?> ReplicationAsync(NodeSpec node, CancellationToken cancellationToken) =>
        GetJsonAsync(node, DatabaseState.Path[1..], body => body.Deserialize<DatabaseState>() is { } state
            ? new ReplicationStatus(state.Role, state.Mode, state.Gtid, state.Following, state.LagSeconds, state.Reason)
            : throw new JsonException("no state"), cancellationToken);

    /// <summary>A proxy's <c>/stats?format=json</c>, or null when it does not answer.</summary>
    public Task<ProxyStats?> StatsAsync(NodeSpec proxy, CancellationToken cancellationToken) =>
        GetJsonAsync(proxy, "stats?format=json", body => ProxyStats.Parse(proxy.Name, body), cancellationToken);

    public void Dispose() => _client.Dispose();

    /// <summary>What <paramref name="read"/> makes of the JSON at <paramref name="path"/> on the node's management address; null when it does not answer as expected.</summary>
    private async Task<T?> GetJsonAsync<T>(NodeSpec node, string path, Func<JsonElement, T> read, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            return read(await _client.GetFromJsonAsync<JsonElement>(new Uri(node.ManagementUrl, path), cancellationToken));
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
}
