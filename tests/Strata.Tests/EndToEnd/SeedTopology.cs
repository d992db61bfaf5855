using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;

namespace Strata.Tests.EndToEnd;

/// <summary>
/// A running copy of the repository's topology (<c>strata up --detach</c>), started once for the end-to-end tests that
/// only use it — the hostile-request corpus, the trust boundaries, the site in a browser — so they share one start (they
/// run one after another). <see cref="TrustedProxy"/> is its <c>loadBalancers.trustedProxies</c>; the proxies' blame
/// counters can be compared before and after a test.
/// </summary>
public sealed class SeedTopology : IAsyncLifetime
{
    // What would move if a server were blamed: failures, retries, health changes. A load balancer's VRRP priority
    // drops only when its web nodes go down (trackWeight), so these also cover the VIP moving because of blame;
    // VRRP's own transitions are not compared: on this 2-core machine, with the whole suite running beside, a
    // backup can miss 360 ms of adverts and flap for a moment for reasons that have nothing to do with requests.
    private static readonly string[] BlameCounters =
        ["strata_server_failures_total", "strata_retries_total", "strata_health_transitions_total"];

    private readonly HttpClient _client = new() { Timeout = TimeSpan.FromSeconds(10) };
    private JsonArray _nodes = [];

    /// <summary>The collection of the tests that share it.</summary>
    public const string Collection = "seed topology";

    /// <summary>A loopback address the topology trusts as a proxy in front of the load balancers.</summary>
    public static readonly IPAddress TrustedProxy = IPAddress.Parse("127.0.0.77");

    internal EndToEndRun Run { get; } = EndToEndRun.Create(json => json["loadBalancers"]!["trustedProxies"] = new JsonArray(TrustedProxy.ToString()));

    public async Task InitializeAsync()
    {
        await Run.StrataAsync(TimeSpan.FromSeconds(120), "up", "--detach");
        _nodes = (await Run.StatusAsync())["nodes"]!.AsArray();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await Run.DisposeAsync();
    }

    internal IPEndPoint Address(string node) => IPEndPoint.Parse(Node(node)["address"]!.GetValue<string>());

    internal Uri ManagementUrl(string node) => new(Node(node)["managementUrl"]!.GetValue<string>());

    /// <summary>The blame counters of every load balancer and web node, by node and series.</summary>
    internal async Task<Dictionary<string, double>> BlameAsync()
    {
        var counters = new Dictionary<string, double>();
        foreach (var node in new[] { "lb-1", "lb-2", "web-1", "web-2" })
        {
            var metrics = await _client.GetStringAsync(new Uri(ManagementUrl(node), "metrics"));
            foreach (var line in metrics.Split('\n'))
            {
                if (BlameCounters.Any(c => line.StartsWith(c, StringComparison.Ordinal)) || line.StartsWith("strata_server_up", StringComparison.Ordinal))
                {
                    var space = line.LastIndexOf(' ');
                    counters[$"{node} {line[..space]}"] = double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
                }
            }
        }

        return counters;
    }

    /// <summary>Every server still up, and no blame counter moved since <paramref name="before"/>.</summary>
    internal async Task AssertNoBlameSinceAsync(Dictionary<string, double> before)
    {
        var after = await BlameAsync();
        Assert.Contains(after, c => c.Key.Contains("strata_server_failures_total", StringComparison.Ordinal));
        var down = after.Where(c => c.Key.Contains(" strata_server_up", StringComparison.Ordinal) && c.Value != 1).Select(c => c.Key).ToList();
        Assert.True(down.Count == 0, $"servers down: {string.Join(", ", down)}");
        var moved = after.Where(c => !c.Key.Contains(" strata_server_up", StringComparison.Ordinal) && c.Value != before.GetValueOrDefault(c.Key))
            .Select(c => $"{c.Key}: {before.GetValueOrDefault(c.Key)} -> {c.Value}")
            .ToList();
        Assert.True(moved.Count == 0, $"blamed: {string.Join("; ", moved)}");
    }

    private JsonNode Node(string name) => _nodes.Single(n => n!["name"]!.GetValue<string>() == name)!;
}

/// <summary>The tests that share <see cref="SeedTopology"/>.</summary>
[CollectionDefinition(SeedTopology.Collection)]
public sealed class SeedTopologyCollection : ICollectionFixture<SeedTopology>;
