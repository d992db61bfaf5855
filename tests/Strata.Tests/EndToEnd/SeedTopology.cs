using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Strata.Tests.Common;

namespace Strata.Tests.EndToEnd;

/// <summary>
/// A running copy of the repository's topology (<c>strata up --detach</c>), started once for the end-to-end tests that
/// only use it — the hostile-request corpus and slow clients, the trust boundaries, the site in a browser, status —
/// so they share one start (they run one after another). Its client timeout is short (<see cref="ClientTimeout"/>). <see cref="TrustedProxy"/> is its <c>loadBalancers.trustedProxies</c>; the proxies' blame
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
    private readonly string _webRoot = Directory.CreateTempSubdirectory("strata-seed-www-").FullName;
    private JsonArray _nodes = [];

    public SeedTopology()
    {
        // The site's files and one large enough that a client that reads nothing of it fills every buffer on the way.
        var site = Path.Combine(TestTopology.RepositoryRoot, "wwwroot");
        foreach (var file in Directory.GetFiles(site, "*", SearchOption.AllDirectories))
        {
            var copy = Path.Combine(_webRoot, Path.GetRelativePath(site, file));
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(file, copy);
        }

        File.WriteAllBytes(Path.Combine(_webRoot, "static", "big.bin"), new byte[BigFileBytes]);
        Run = EndToEndRun.Create(json =>
        {
            json["loadBalancers"]!["trustedProxies"] = new JsonArray(TrustedProxy.ToString());
            json["web"]!["root"] = _webRoot;
            json["web"]!["timeouts"]!["clientMs"] = ClientTimeout.TotalMilliseconds;
            json["app"]!["timeouts"] = new JsonObject { ["clientMs"] = ClientTimeout.TotalMilliseconds };
        });
    }

    /// <summary>The client timeout of the load balancers, web and app nodes: short, so that slow clients are closed in seconds.</summary>
    internal static TimeSpan ClientTimeout { get; } = TimeSpan.FromSeconds(3);

    /// <summary>The size of /static/big.bin.</summary>
    internal const int BigFileBytes = 8 * 1024 * 1024;

    /// <summary>The collection of the tests that share it.</summary>
    public const string Collection = "seed topology";

    /// <summary>A loopback address the topology trusts as a proxy in front of the load balancers.</summary>
    public static readonly IPAddress TrustedProxy = IPAddress.Parse("127.0.0.77");

    internal EndToEndRun Run { get; }

    public async Task InitializeAsync()
    {
        await Run.StrataAsync(TimeSpan.FromSeconds(120), "up", "--detach");
        _nodes = (await Run.StatusAsync())["nodes"]!.AsArray();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await Run.DisposeAsync();
        Directory.Delete(_webRoot, recursive: true);
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
