using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Strata.Hosting.Processes;
using Strata.Tests.Common;

namespace Strata.Tests.EndToEnd;

/// <summary>
/// A copy of the repository's strata.json in a folder of its own, with the same addresses and other ports (so a
/// topology a developer runs is left alone), driven through the real executable as a user would; disposing it runs
/// <c>strata down</c> and removes the folder, whatever the test did.
/// </summary>
internal sealed class EndToEndRun : IAsyncDisposable
{
    private EndToEndRun(string directory, string topologyPath, int dnsPort, int vipPort, int httpsPort)
    {
        Directory = directory;
        TopologyPath = topologyPath;
        DnsPort = dnsPort;
        Site = new Uri($"http://127.0.0.100:{vipPort}/");
        HttpsPort = httpsPort;
    }

    public string Directory { get; }

    public string TopologyPath { get; }

    public int DnsPort { get; }

    /// <summary>The site through the VIP.</summary>
    public Uri Site { get; }

    /// <summary>The VIP's HTTPS port (vip.tls.port, a free one).</summary>
    public int HttpsPort { get; }

    /// <summary>The local CA <c>strata up</c> makes (vip.tls.generate).</summary>
    public string CaPath => Path.Combine(Directory, ".strata", "tls", "ca.pem");

    /// <summary>A client with a new connection per request (each request meets the VIP owner afresh) and a 10 s limit.</summary>
    public HttpClient Client { get; } = new(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.Zero })
    {
        Timeout = TimeSpan.FromSeconds(10),
    };

    /// <summary>Writes the topology; <paramref name="customize"/> may change it first (its ports are already free ones).</summary>
    public static EndToEndRun Create(Action<JsonObject>? customize = null)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("strata-e2e-").FullName;
        var json = TestTopology.DefaultJson();
        var dnsPort = FreePorts.TcpAndUdp();
        json["dns"]!["address"] = $"127.0.0.1:{dnsPort}";
        json["dns"]!["management"] = $"127.0.0.1:{FreePorts.Tcp()}";
        var httpAddresses = new[] { json["vip"]!["address"]! }
            .Concat(new[] { "loadBalancers", "web", "app" }.SelectMany(tier => json[tier]!["nodes"]!.AsArray().Select(n => n!["address"]!)))
            .Select(a => IPEndPoint.Parse(a.GetValue<string>()).Address)
            .ToList();
        var vipPort = PortFreeOnAll(httpAddresses);
        var managementPort = PortFreeOnAll(httpAddresses, except: vipPort);
        json["vip"]!["address"] = $"127.0.0.100:{vipPort}";
        var httpsPort = PortFreeOnAll([IPAddress.Parse("127.0.0.100")], except: vipPort);
        if (json["vip"]!["tls"] is JsonObject tls)
        {
            tls["port"] = httpsPort;
        }

        json["vip"]!["port"] = FreePorts.TcpAndUdp();
        foreach (var tier in new[] { "loadBalancers", "web", "app" })
        {
            foreach (var node in json[tier]!["nodes"]!.AsArray())
            {
                var address = IPEndPoint.Parse(node!["address"]!.GetValue<string>()).Address;
                node["address"] = $"{address}:{vipPort}";
                node["management"] = $"{address}:{managementPort}";
            }
        }

        customize?.Invoke(json);
        return new EndToEndRun(directory, TestTopology.Write(json, directory), dnsPort, vipPort, httpsPort);
    }

    /// <summary>Runs <c>strata ARGS -f TOPOLOGY</c> and asserts it succeeded.</summary>
    public async Task<ProcessResult> StrataAsync(TimeSpan timeout, params string[] arguments)
    {
        var result = await StrataCli.RunAsync(timeout, [.. arguments, "-f", TopologyPath]);
        Assert.True(result.ExitCode == 0, $"strata {string.Join(' ', arguments)} failed ({result.ExitCode}): {result.Output}{result.Error}");
        return result;
    }

    /// <inheritdoc cref="StrataAsync(TimeSpan, string[])"/>
    public Task<ProcessResult> StrataAsync(params string[] arguments) => StrataAsync(TimeSpan.FromSeconds(60), arguments);

    /// <summary><c>strata status --json</c>.</summary>
    public async Task<JsonNode> StatusAsync() => JsonNode.Parse((await StrataAsync("status", "--json")).Output)!;

    /// <summary>The state of one node in <paramref name="status"/>.</summary>
    public static string State(JsonNode status, string node) =>
        status["nodes"]!.AsArray().Single(n => n!["name"]!.GetValue<string>() == node)!["state"]!.GetValue<string>();

    /// <summary>The PID of one node in <paramref name="status"/>.</summary>
    public static int Pid(JsonNode status, string node) =>
        status["nodes"]!.AsArray().Single(n => n!["name"]!.GetValue<string>() == node)!["pid"]!.GetValue<int>();

    /// <summary>A GET of the site (<paramref name="path"/> relative to it) with the zone's Host header.</summary>
    public async Task<HttpResponseMessage> GetAsync(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(Site, path));
        request.Headers.Host = "www.foobar.com";
        return await Client.SendAsync(request);
    }

    public static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(", ", values) : "";

    public async ValueTask DisposeAsync()
    {
        await StrataCli.RunAsync("down", "-f", TopologyPath);
        Client.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    /// <summary>A port free on every one of <paramref name="addresses"/>, so each node can bind its own.</summary>
    private static int PortFreeOnAll(IReadOnlyList<IPAddress> addresses, int except = 0)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var port = FreePorts.Tcp(addresses[0]);
            if (port != except && addresses.All(a => IsFree(a, port)))
            {
                return port;
            }
        }

        throw new InvalidOperationException("no port free on every topology address after 50 attempts");
    }

    private static bool IsFree(IPAddress address, int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(address, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
