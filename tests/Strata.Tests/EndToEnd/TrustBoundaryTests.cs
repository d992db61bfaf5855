using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Strata.Tests.Common;

namespace Strata.Tests.EndToEnd;

/// <summary>
/// Issue 18's trust boundaries through every tier of a running topology: a client's own claims of its address
/// (X-Forwarded-*, Forwarded, X-Real-IP...) sent to the VIP, a load balancer, a web node or an app node never become
/// the client the application sees (its <c>/api/client</c>) or the web access log's client, while a configured trusted
/// proxy's are believed; management routes never answer through the VIP or a web node; the admin token is never in a
/// log, in <c>status</c> or on a command line.
/// </summary>
[Collection(SeedTopology.Collection)]
public sealed class TrustBoundaryTests(SeedTopology topology)
{
    private const string Host = "www.foobar.com";

    /// <summary>A client of no standing: neither the topology's proxies nor its trusted proxy.</summary>
    private static readonly IPAddress Stranger = IPAddress.Parse("127.0.0.66");

    private static readonly (string Name, string Value)[] Claims =
    [
        ("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "evil.example"),
        ("Forwarded", "for=6.6.6.6;proto=https"), ("X-Real-IP", "6.6.6.6"), ("True-Client-IP", "6.6.6.6"),
    ];

    [Fact]
    public async Task SpoofedClientAddress_AtEveryTierEitherWayIn_TheAppAndTheAccessLogSeeTheRealClient()
    {
        var probe = Guid.NewGuid().ToString("N");
        using var client = ClientFrom(Stranger);
        var wrong = new List<string>();

        foreach (var (target, address) in Targets())
        {
            // GET takes the connection path at the load balancers and Strata's own HTTP/1.1 exchange; POST, with a body, Kestrel and YARP.
            foreach (var method in new[] { HttpMethod.Get, HttpMethod.Post })
            {
                var seen = await ClientAsync(client, address, method, probe, Claims);
                // Straight at an app node nothing is in between: its headers arrive as sent, but are not believed.
                var reached = target == "app-1" ? "{}" : seen["headers"]!.ToJsonString();
                if ((seen["address"]!.GetValue<string>(), seen["scheme"]!.GetValue<string>(), reached) != ("127.0.0.66", "http", "{}"))
                {
                    wrong.Add($"{method} to {target}: {seen.ToJsonString()}");
                }
            }
        }

        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
        // Through the VIP, lb-1 and web-1 the web node logged the real client, never the claimed one.
        var logged = await Eventually.TrueAsync(() => Task.FromResult(AccessLogLines(probe).Count == 6), TimeSpan.FromSeconds(10));
        var lines = AccessLogLines(probe);
        Assert.True(logged, $"{lines.Count} access log lines for the probe:\n{string.Join("\n", lines)}");
        Assert.All(lines, line => Assert.StartsWith("127.0.0.66 ", line, StringComparison.Ordinal));
    }

    [Fact]
    public async Task TrustedProxy_ItsClientBelievedAtEveryTier()
    {
        using var client = ClientFrom(SeedTopology.TrustedProxy);
        var wrong = new List<string>();

        foreach (var (target, address) in Targets())
        {
            foreach (var method in new[] { HttpMethod.Get, HttpMethod.Post })
            {
                var seen = await ClientAsync(client, address, method, "trusted", [("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-Proto", "https"), ("X-Real-IP", "203.0.113.7")]);
                if ((seen["address"]!.GetValue<string>(), seen["scheme"]!.GetValue<string>(), seen["headers"]!["X-Real-IP"]?.GetValue<string>()) != ("203.0.113.7", "https", "203.0.113.7"))
                {
                    wrong.Add($"{method} to {target}: {seen.ToJsonString()}");
                }
            }
        }

        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public async Task ManagementRoutes_ThroughTheVipALoadBalancerAWebNodeOrAnAppNode_404EvenWithTheToken()
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };
        string[] paths = ["/metrics", "/stats", "/stats?format=json", "/admin/servers", "/vip", "/healthz", "/readyz", "/METRICS"];
        var answered = new List<string>();

        foreach (var (target, address) in Targets())
        {
            foreach (var path in paths)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"http://{address}{path}");
                request.Headers.Host = Host;
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken());
                using var response = await client.SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();
                if (response.StatusCode != HttpStatusCode.NotFound || body.Contains("strata_", StringComparison.Ordinal))
                {
                    answered.Add($"{target}{path}: {(int)response.StatusCode} {body[..Math.Min(body.Length, 80)]}");
                }
            }
        }

        Assert.True(answered.Count == 0, string.Join("\n", answered));
        // On the management address they answer (what the paths above would have reached).
        using var metrics = await client.GetAsync(new Uri(topology.ManagementUrl("web-1"), "metrics"));
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
    }

    [Fact]
    public async Task AdminToken_AfterAuthenticatedAndRefusedCalls_NotInAnyLogStatusOrCommandLine()
    {
        var token = AdminToken();
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };

        // The proxies' admin API on a management address, with the token and with a wrong one.
        using (var servers = new HttpRequestMessage(HttpMethod.Get, new Uri(topology.ManagementUrl("lb-1"), "admin/servers")))
        {
            servers.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await client.SendAsync(servers);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using (var wrong = new HttpRequestMessage(HttpMethod.Get, new Uri(topology.ManagementUrl("web-1"), "admin/servers")))
        {
            wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token[..^1]);
            using var response = await client.SendAsync(wrong);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        // The guestbook's admin DELETE, through the VIP.
        using var post = new HttpRequestMessage(HttpMethod.Post, new Uri(topology.Run.Site, "/api/messages")) { Content = JsonContent.Create(new { author = "trust", text = "to be deleted" }) };
        post.Headers.Host = Host;
        using var created = await client.SendAsync(post);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var delete = new HttpRequestMessage(HttpMethod.Delete, new Uri(topology.Run.Site, created.Headers.Location!));
        delete.Headers.Host = Host;
        delete.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var deleted = await client.SendAsync(delete);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);

        var status = await topology.Run.StatusAsync();
        var table = (await topology.Run.StrataAsync("status")).Output;
        var logs = Directory.GetFiles(Path.Combine(topology.Run.Directory, ".strata", "logs"));
        Assert.NotEmpty(logs);
        Assert.All(logs, log => Assert.DoesNotContain(token, File.ReadAllText(log), StringComparison.Ordinal));
        Assert.DoesNotContain(token, status.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain(token, table, StringComparison.Ordinal);
        // A command line is anyone's to read (/proc/PID/cmdline, ps): the nodes get the token in their environment.
        Assert.All(
            status["nodes"]!.AsArray().Select(n => n!["pid"]!.GetValue<int>()),
            pid => Assert.DoesNotContain(token, File.ReadAllText($"/proc/{pid}/cmdline"), StringComparison.Ordinal));
    }

    private string AdminToken() => File.ReadAllText(Path.Combine(topology.Run.Directory, ".strata", "admin-token")).Trim();

    /// <summary>The way in of each tier: the VIP, a load balancer's, a web node's and an app node's own addresses.</summary>
    private IEnumerable<(string Name, string Address)> Targets() =>
    [
        ("the VIP", $"{topology.Run.Site.Host}:{topology.Run.Site.Port}"),
        .. new[] { "lb-1", "web-1", "app-1" }.Select(node => (node, topology.Address(node).ToString())),
    ];

    /// <summary>The app's <c>/api/client</c> answer to a request with <paramref name="headers"/>, through <paramref name="address"/>.</summary>
    private static async Task<JsonNode> ClientAsync(HttpClient client, string address, HttpMethod method, string probe, (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, $"http://{address}/api/client?probe={probe}");
        request.Headers.Host = Host;
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        if (method == HttpMethod.Post)
        {
            request.Content = new StringContent("body");
        }

        using var response = await client.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, $"{method} {request.RequestUri}: {(int)response.StatusCode}");
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    private List<string> AccessLogLines(string probe) =>
    [
        .. Directory.GetFiles(Path.Combine(topology.Run.Directory, ".strata", "logs"), "web-*.access.log")
            .SelectMany(ReadShared)
            .Where(line => line.Contains(probe, StringComparison.Ordinal)),
    ];

    private static string[] ReadShared(string path)
    {
        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
        return reader.ReadToEnd().Split('\n');
    }

    /// <summary>A client whose connections come from <paramref name="source"/>, a new one per request.</summary>
    private static HttpClient ClientFrom(IPAddress source) => new(new SocketsHttpHandler
    {
        UseProxy = false,
        PooledConnectionLifetime = TimeSpan.Zero,
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(source, 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    })
    {
        Timeout = TimeSpan.FromSeconds(10),
    };
}
