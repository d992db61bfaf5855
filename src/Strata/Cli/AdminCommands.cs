using System.CommandLine;
using Strata.Orchestration;
using Strata.Orchestration.Admin;
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
        var proxyRole = ProxyAdmin.FrontOf(server);
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

        using var admin = new ProxyAdmin(token);
        var results = await Task.WhenAll(proxies.Select(proxy => admin.TellAsync(proxy, server.Name, action, cancellationToken)));
        foreach (var (line, ok) in results)
        {
            (ok ? Console.Out : Console.Error).WriteLine(line);
        }

        return results.All(r => r.Ok) ? 0 : 1;
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"strata: {message}");
        return 1;
    }
}
