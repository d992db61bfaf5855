using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.Hosting.Processes;
using Strata.Topology;

namespace Strata.Tests.Common;

/// <summary>
/// Builds topologies in code for functional tests (the validator rejects port 0, which these tests need),
/// and finds the repository's own files.
/// </summary>
internal static class TestTopology
{
    /// <summary>A backend with fast checks (fall 2, rise 1), so tests see state changes within a second or two.</summary>
    public static readonly BackendSpec FastBackend = new()
    {
        HealthCheck = new("/readyz", TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(500), 2, 1),
    };

    /// <summary>Checks every 60 s: a server stays as its first check found it while a test drives its answers.</summary>
    public static readonly HealthCheckSpec SlowChecks = new("/readyz", TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(5), 3, 1);

    public static NodeSpec Node(string name, NodeRole role, IPEndPoint? address = null, int weight = 1)
    {
        address ??= new IPEndPoint(IPAddress.Loopback, 0);
        return new NodeSpec(name, role, address, address, weight);
    }

    public static NodeSpec Node(string name, NodeRole role, Uri boundUrl, int weight = 1) =>
        Node(name, role, new IPEndPoint(IPAddress.Parse(boundUrl.Host), boundUrl.Port), weight);

    public static Strata.Topology.Topology Create(
        NodeSpec? dns = null,
        DnsZoneSpec? zone = null,
        IEnumerable<NodeSpec>? loadBalancers = null,
        IEnumerable<NodeSpec>? webNodes = null,
        IEnumerable<NodeSpec>? appNodes = null,
        IPEndPoint? vip = null,
        string? webRoot = null,
        string? databasePath = null,
        BackendSpec? webBackend = null,
        BackendSpec? appBackend = null) => new()
        {
            SourcePath = Path.Combine(Path.GetTempPath(), "strata.json"),
            Dns = dns ?? Node("dns", NodeRole.Dns),
            Zone = zone ?? new DnsZoneSpec("foobar.com", TimeSpan.FromSeconds(60), ImmutableDictionary<string, IPAddress>.Empty),
            Vip = vip ?? new IPEndPoint(IPAddress.Loopback, FreePorts.Tcp()),
            LoadBalancers = [.. loadBalancers ?? []],
            WebNodes = [.. webNodes ?? []],
            AppNodes = [.. appNodes ?? []],
            WebBackend = webBackend ?? FastBackend,
            AppBackend = appBackend ?? FastBackend,
            // Its own VRRP port, so load balancers of tests running side by side never hear each other.
            Vrrp = VrrpSpec.Default with { Port = FreePorts.TcpAndUdp() },
            WebRoot = webRoot ?? Path.GetTempPath(),
            Database = new DatabaseSpec("sqlite", databasePath ?? Path.Combine(Path.GetTempPath(), $"strata-{Guid.NewGuid():N}.db")),
        };

    /// <summary>
    /// The repository's strata.json as a JSON tree, with web.root made absolute so a copy works anywhere, and the live
    /// dashboard off: a test's run never takes 127.0.0.1:8099 (a developer's own dashboard) nor starts a process for it;
    /// the dashboard's tests give it a free port.
    /// </summary>
    public static JsonObject DefaultJson()
    {
        var root = JsonNode.Parse(
            File.ReadAllText(Path.Combine(RepositoryRoot, "strata.json")),
            documentOptions: new() { CommentHandling = JsonCommentHandling.Skip })!.AsObject();
        root["web"]!["root"] = Path.Combine(RepositoryRoot, "wwwroot");
        root["dashboard"] = new JsonObject { ["enabled"] = false };
        return root;
    }

    /// <summary>Writes <paramref name="json"/> as strata.json in <paramref name="directory"/>, on one line.</summary>
    public static string Write(JsonObject json, string directory)
    {
        var path = Path.Combine(directory, "strata.json");
        File.WriteAllText(path, json.ToJsonString());
        return path;
    }

    /// <summary>The repository root (where Strata.slnx is).</summary>
    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Strata.slnx")))
                {
                    return dir.FullName;
                }
            }

            throw new InvalidOperationException("Strata.slnx not found above " + AppContext.BaseDirectory);
        }
    }
}
