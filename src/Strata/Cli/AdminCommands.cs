using System.CommandLine;
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

            return await StrataCommandLine.Orchestrator(topology).TellProxiesAsync(server, action, cancellationToken);
        });
        return command;
    }
}
