using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Strata.App;
using Strata.App.External;
using Strata.Database;
using Strata.Database.Server;
using Strata.Dns;
using Strata.Dns.Server;
using Strata.Hosting.Tls;
using Strata.LoadBalancer;
using Strata.Topology;
using Strata.Web;

namespace Strata.Cli;

/// <summary>The role commands: each runs one node of the topology in this process until SIGTERM or Ctrl+C.</summary>
internal static class NodeCommands
{
    /// <summary>The role commands' flag for the addresses of <c>up --netns</c>.</summary>
    public const string NetnsOption = "--netns";

    /// <summary>The engines <c>--db</c> takes, on <c>up</c> and on the role commands.</summary>
    public static readonly string[] DatabaseEngines = ["sqlite", "mysql"];

    public static Command Create(NodeRole role, Option<FileInfo> fileOption)
    {
        var name = new Argument<string>("name") { Description = $"The {Describe(role)} to run, by its name in the topology" };
        if (role == NodeRole.Dns)
        {
            name.Arity = ArgumentArity.ZeroOrOne;
        }

        var netns = new Option<bool>(NetnsOption) { Description = "Use the addresses of 'strata up --netns' (the orchestrator starts nodes inside their namespaces with it)" };
        var db = DatabaseOption("Use this database whatever the file says, as 'strata up --db' does (mysql: the managed server)");
        var command = new Command(role.ShortName(), $"Run one {Describe(role)} of the topology") { name, fileOption, netns, db };
        command.SetAction(async parse =>
        {
            if (StrataCommandLine.LoadTopology(parse) is not { } topology)
            {
                return StrataCommandLine.UsageError;
            }

            if (parse.GetValue(db) is { } engine)
            {
                topology = ManagedDatabase.Choose(topology, engine);
            }

            if (parse.GetValue(netns))
            {
                topology = NetnsLayout.Apply(topology);
            }

            var nodeName = parse.GetValue(name) ?? topology.Dns.Name;
            var node = topology.FindNode(nodeName);
            if (node is null || node.Role != role)
            {
                var candidates = topology.AllNodes.Where(n => n.Role == role).Select(n => n.Name);
                return StrataCommandLine.Usage($"'{nodeName}' is not a {Describe(role)} of this topology; those are: {string.Join(", ", candidates)}");
            }

            try
            {
                await using var app = Build(topology, node);
                await app.RunAsync();
                // A database node whose server exited on its own stops with a non-zero code.
                return Environment.ExitCode;
            }
            catch (Exception ex) when (ex is IOException or DnsBindException or DatabaseServerException)
            {
                // Bind errors ("address already in use") end here: one line, not a stack trace.
                Console.Error.WriteLine($"strata: {node.Name}: {ex.Message}");
                return 1;
            }
        });
        return command;
    }

    /// <summary>A <c>--db sqlite|mysql</c> option, unset unless given.</summary>
    public static Option<string> DatabaseOption(string description)
    {
        var option = new Option<string>("--db") { Description = description };
        option.AcceptOnlyFromAmong(DatabaseEngines);
        return option;
    }

    /// <summary>The command line that runs <paramref name="node"/> with the executable running now.</summary>
    public static IReadOnlyList<string> CommandLine(NodeSpec node, string topologyPath) =>
        Executable([node.Role.ShortName(), node.Name, "--file", topologyPath]);

    /// <summary>The command line that runs the executable running now with <paramref name="arguments"/>.</summary>
    public static IReadOnlyList<string> Executable(IReadOnlyList<string> arguments)
    {
        var executable = Environment.ProcessPath!;
        // Under 'dotnet Strata.dll' (as in tests) the host is dotnet and the program is the assembly.
        IReadOnlyList<string> program = Path.GetFileNameWithoutExtension(executable) == "dotnet"
            ? [executable, typeof(NodeCommands).Assembly.Location]
            : [executable];
        return [.. program, .. arguments];
    }

    private static WebApplication Build(Topology.Topology topology, NodeSpec node) => node.Role switch
    {
        NodeRole.Dns => DnsNode.Build(topology),
        NodeRole.LoadBalancer => BuildLoadBalancer(topology, node),
        NodeRole.Web => BuildWeb(topology, node),
        NodeRole.App when topology.AppCommand is not null => ExternalAppNode.Build(topology, node),
        NodeRole.App => AppNode.Build(topology, node),
        NodeRole.Database => DatabaseNode.Build(topology, node),
        _ => throw new ArgumentOutOfRangeException(nameof(node), node.Role, null),
    };

    /// <summary>
    /// A load balancer's process does only non-blocking socket work, so its socket completions run inline on the
    /// event thread, as in HAProxy's event loop, instead of each being handed to a pool thread (this variable sets
    /// .NET's socket engine; the VIP's Kestrel sets its own inline scheduling, KestrelVipListener; measured in
    /// docs/benchmarks.md). Process-wide, and read when the first socket is made: set here, before the node builds
    /// anything, never in a process hosting more than this node (tests build nodes in-process).
    /// Likewise, with vip.tls, OpenSSL's defaults become Mozilla's intermediate profile before OpenSSL is first used,
    /// so that handshakes reuse one OpenSSL context (<see cref="IntermediateTls"/>; the node checks that it holds).
    /// The node warms up before it says ready or takes the VIP (<see cref="Hosting.WarmUp.NodeWarmUp"/>).
    /// </summary>
    private static WebApplication BuildLoadBalancer(Topology.Topology topology, NodeSpec node)
    {
        RunSocketCompletionsInline();
        if (topology.VipTls is { } tls && IntermediateTls.ApplyToProcess(tls.Directory) is { } problem)
        {
            Console.Error.WriteLine($"strata: {node.Name}: TLS defaults not set: {problem}");
        }

        return LoadBalancerNode.Build(topology, node, warmUp: true);
    }

    /// <summary>
    /// A web node runs its socket completions inline too (its Kestrel sets its own inline scheduling, WebNode): its
    /// requests are answered from the file cache or forwarded, and the file work it does on the way (a stat, opening
    /// or reading a small file into the cache) blocks the event thread as briefly as in nginx's worker, which reads
    /// files the same way. Not for the app node: its handlers wait for the database (SQLite is synchronous).
    /// The node warms up before it says ready (<see cref="Hosting.WarmUp.NodeWarmUp"/>).
    /// </summary>
    private static WebApplication BuildWeb(Topology.Topology topology, NodeSpec node)
    {
        RunSocketCompletionsInline();
        return WebNode.Build(topology, node, warmUp: true);
    }

    private static void RunSocketCompletionsInline() =>
        Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");

    private static string Describe(NodeRole role) => role switch
    {
        NodeRole.Dns => "DNS server",
        NodeRole.LoadBalancer => "load balancer",
        NodeRole.Web => "web node",
        NodeRole.Database => "database node",
        _ => "app node",
    };
}
