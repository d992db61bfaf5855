using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Strata.Data.Managed;
using Strata.Orchestration.Status;
using Strata.Topology;

namespace Strata.Orchestration;

/// <summary><c>strata switchover</c>: the database primary moved on purpose (docs/database.md).</summary>
public sealed partial class Orchestrator
{
    private static readonly TimeSpan SwitchoverTimeout = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Makes <paramref name="target"/> the primary: the primary stops taking writes, waits until the target has them
    /// all and hands it the lease; writes sent meanwhile wait in the app nodes and go to the new primary.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="target"/> is not a database node of the topology.</exception>
    public async Task<int> SwitchoverAsync(string target, CancellationToken cancellationToken)
    {
        if (ReadRun() is null)
        {
            return Fail("not running: use 'strata up --db mysql' to start the topology");
        }

        var nodes = _layout.Database.Nodes;
        if (!nodes.Any(n => n.Name == target))
        {
            throw new ArgumentException(nodes.IsEmpty
                ? "the topology has no database nodes of its own (database.managed, or 'strata up --db mysql')"
                : $"'{target}' is not a database node; they are: {string.Join(", ", nodes.Select(n => n.Name))}", nameof(target));
        }

        using var probe = new NodeProbe(TimeSpan.FromSeconds(2));
        var states = await Task.WhenAll(nodes.Select(n => probe.ReplicationAsync(n, cancellationToken)));
        var primary = nodes.Where((n, i) => states[i] is { Role: Roles.Primary }).FirstOrDefault();
        if (primary is null)
        {
            return Fail("no database node is primary now (a failover under way?): 'strata status' shows each one");
        }

        if (primary.Name == target)
        {
            output.WriteLine($"{target} is already the primary");
            return 0;
        }

        if (AdminToken() is not { } token)
        {
            return Fail("no admin token: none in the topology and no run token");
        }

        var started = Stopwatch.StartNew();
        using var client = new HttpClient { Timeout = SwitchoverTimeout };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(primary.ManagementUrl, $"db/switchover?to={Uri.EscapeDataString(target)}"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await client.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadFromJsonAsync<Dictionary<string, string>>(cancellationToken);
            return Fail($"{primary.Name} refused: {body?.GetValueOrDefault("error") ?? ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        }

        var targetNode = nodes.First(n => n.Name == target);
        while (started.Elapsed < SwitchoverTimeout)
        {
            if (await probe.ReplicationAsync(targetNode, cancellationToken) is { Role: Roles.Primary })
            {
                output.WriteLine($"{target} is the primary ({primary.Name} handed over in {started.Elapsed.TotalSeconds:0.0} s; it follows {target} now)");
                return 0;
            }

            await Task.Delay(50, cancellationToken);
        }

        return Fail($"{primary.Name} handed over, but {target} did not become primary within {SwitchoverTimeout.TotalSeconds:0} s ('strata logs {target}')");
    }
}
