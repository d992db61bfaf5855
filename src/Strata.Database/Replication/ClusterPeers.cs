using System.Net.Http.Json;
using Strata.Data.Managed;
using Strata.Hosting.Leases;
using Strata.Topology;

namespace Strata.Database.Replication;

/// <summary>
/// A database node's view of the others: their <c>/db/state</c>, and the lease asked of every voter (this node's own
/// voter directly, the others over HTTP on their management addresses). Every call is bounded by a short timeout, so
/// a node that is gone or cut off only ever costs that much.
/// </summary>
internal sealed class ClusterPeers(NodeSpec self, IReadOnlyList<NodeSpec> databaseNodes, IReadOnlyList<NodeSpec> voters, LeaseVoter localVoter, string leaseToken) : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromSeconds(30), ConnectTimeout = TimeSpan.FromMilliseconds(400) })
    {
        Timeout = TimeSpan.FromMilliseconds(700),
    };

    /// <summary>How many grants make a majority of the voters.</summary>
    public int Majority => voters.Count / 2 + 1;

    /// <summary>How many voters there are.</summary>
    public int Voters => voters.Count;

    /// <summary>The other database nodes' states; a node that did not answer is left out.</summary>
    public async Task<IReadOnlyList<DatabaseState>> StatesAsync(CancellationToken cancellationToken)
    {
        var others = databaseNodes.Where(n => n != self).ToList();
        var states = await Task.WhenAll(others.Select(async node =>
        {
            try
            {
                return await _http.GetFromJsonAsync<DatabaseState>(new Uri($"http://{node.Management}{DatabaseState.Path}"), cancellationToken);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException && !cancellationToken.IsCancellationRequested)
            {
                return null;
            }
        }));
        return [.. states.OfType<DatabaseState>()];
    }

    /// <summary>Asks every voter at once for the lease (or gives it back with <paramref name="release"/>).</summary>
    /// <returns>How many granted it, and the first refusal's reason.</returns>
    public async Task<(int Granted, string? Refusal)> AskAsync(string mode, TimeSpan duration, bool release, CancellationToken cancellationToken)
    {
        var request = new LeaseRequest(self.Name, mode, (int)duration.TotalMilliseconds, release);
        var answers = await Task.WhenAll(voters.Select(async voter =>
        {
            if (voter == self)
            {
                return localVoter.Ask(request);
            }

            try
            {
                using var message = new HttpRequestMessage(HttpMethod.Post, new Uri($"http://{voter.Management}{LeaseEndpoints.Path}"))
                {
                    Content = JsonContent.Create(request),
                };
                message.Headers.Authorization = new("Bearer", leaseToken);
                using var response = await _http.SendAsync(message, cancellationToken);
                return response.IsSuccessStatusCode
                    ? await response.Content.ReadFromJsonAsync<LeaseAnswer>(cancellationToken)
                    : new LeaseAnswer(false, null, 0, $"{voter.Name} answered {(int)response.StatusCode}");
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException && !cancellationToken.IsCancellationRequested)
            {
                return new LeaseAnswer(false, null, 0, $"{voter.Name} did not answer");
            }
        }));
        return (answers.Count(a => a is { Granted: true }), answers.FirstOrDefault(a => a is { Granted: false, Reason: not null })?.Reason);
    }

    public void Dispose() => _http.Dispose();
}
