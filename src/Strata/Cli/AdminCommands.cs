using System.CommandLine;
using System.Net.Http.Headers;
using System.Text.Json;
using Strata.Orchestration;
using Strata.Orchestration.Runs;
using Strata.Orchestration.Status;
using Strata.Topology;

namespace Strata.Cli;

/// <summary>
/// <c>strata drain|ready|maint NODE</c>: tells every running proxy in front of NODE, through its admin API, to stop
/// sending it new requests, to send it requests again, or to take it out entirely. A web node is a server of the
/// load balancers; an app node of the web nodes. Exit 0 when every proxy agreed, 1 otherwise, 2 for a usage error.
/// </summary>
internal static class AdminCommands
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    public static Command Create(string name, string action, string description, Option<FileInfo> fileOption)
    {
        var node = new Argument<string>("node") { Description = "A web or app node, e.g. web-2" };
        var command = new Command(name, description) { node, fileOption };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (StrataCommandLine.LoadTopology(parse) is not { } topology)
            {
                return StrataCommandLine.UsageError;
            }

            var server = parse.GetValue(node)!;
            var spec = topology.FindNode(server);
            if (spec is null || spec.Role is not (NodeRole.Web or NodeRole.App))
            {
                var servers = topology.AllNodes.Where(n => n.Role is NodeRole.Web or NodeRole.App).Select(n => n.Name);
                return StrataCommandLine.Usage(
                    $"{(spec is null ? $"no node named '{server}'" : $"'{server}' is not a backend server")}: {name} takes a web or app node: {string.Join(", ", servers)}");
            }

            return await TellProxiesAsync(topology, spec, action, cancellationToken);
        });
        return command;
    }

    private static async Task<int> TellProxiesAsync(Topology.Topology topology, NodeSpec server, string action, CancellationToken cancellationToken)
    {
        var proxyRole = server.Role == NodeRole.Web ? NodeRole.LoadBalancer : NodeRole.Web;
        var token = topology.AdminToken ?? new RunDirectory(topology.SourcePath).ReadAdminToken();
        if (token is null)
        {
            return Fail("no admin token: none in the topology and no run token (is the topology running? 'strata up')");
        }

        var status = await new Orchestrator(topology, _ => [], TextWriter.Null).StatusAsync(cancellationToken);
        var proxies = status.Nodes
            .Where(n => n.Pid is not null && topology.FindNode(n.Name)?.Role == proxyRole)
            .Select(n => topology.FindNode(n.Name)!)
            .ToList();
        if (proxies.Count == 0)
        {
            return Fail($"no {(proxyRole == NodeRole.LoadBalancer ? "load balancer" : "web node")} is running to tell about {server.Name}");
        }

        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = RequestTimeout };
        var results = await Task.WhenAll(proxies.Select(proxy => TellAsync(client, proxy, server.Name, action, token, cancellationToken)));
        foreach (var (line, ok) in results)
        {
            (ok ? Console.Out : Console.Error).WriteLine(line);
        }

        return results.All(r => r.Ok) ? 0 : 1;
    }

    private static async Task<(string Line, bool Ok)> TellAsync(
        HttpClient client, NodeSpec proxy, string server, string action, string token, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(proxy.ManagementUrl, $"admin/servers/{Uri.EscapeDataString(server)}/{action}"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        try
        {
            using var response = await client.SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return ($"strata: {proxy.Name}: HTTP {(int)response.StatusCode}: {Detail(body)}", false);
            }

            using var json = JsonDocument.Parse(body);
            return ($"{proxy.Name}: {server} {json.RootElement.GetProperty("state").GetString()}", true);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
        {
            return ($"strata: {proxy.Name}: {ex.Message}", false);
        }
    }

    /// <summary>The detail of a problem+json answer, else the body itself.</summary>
    private static string Detail(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.TryGetProperty("detail", out var detail) ? detail.GetString() ?? body : body;
        }
        catch (JsonException)
        {
            return body;
        }
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"strata: {message}");
        return 1;
    }
}
