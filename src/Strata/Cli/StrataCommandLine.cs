using System.CommandLine;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json;
using Strata.Database.Server;
using Strata.Orchestration;
using Strata.Orchestration.Drill;
using Strata.Orchestration.Status;
using Strata.Topology;

namespace Strata.Cli;

/// <summary>
/// The command-line contract of DESIGN.md: orchestration commands (up, status, down, kill, start), admin commands
/// (drain, ready, maint) and one role command per kind of node (dns, lb, web, app). Usage errors exit with 2.
/// </summary>
internal static class StrataCommandLine
{
    public const int UsageError = 2;

    private static readonly JsonSerializerOptions StatusJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private static readonly Option<FileInfo> FileOption = new("--file", "-f")
    {
        Description = "The topology file",
        DefaultValueFactory = _ => new FileInfo(TopologyLoader.DefaultFileName),
    };

    public static async Task<int> RunAsync(string[] args)
    {
        var root = new RootCommand("Strata: DNS, a load balancer pair sharing a VIP, web, app and database tiers, in one binary.")
        {
            UpCommand(),
            StatusCommand(),
            LogsCommand(),
            DashboardCommand(),
            DownCommand(),
            KillCommand(),
            SwitchoverCommand(),
            ReopenLogsCommand(),
            ScaleCommand(),
            StartCommand(),
            CutCommand(),
            HealCommand(),
            BackupCommand(),
            RestoreCommand(),
            DrillCommand(),
            ExportCommand.Create(FileOption),
            AdminCommands.Create("drain", "drain", "Stop sending new requests to a web or app node (in-flight ones finish)", FileOption),
            AdminCommands.Create("ready", "ready", "Send requests to a drained or maintained node again", FileOption),
            AdminCommands.Create("maint", "maintenance", "Take a web or app node out entirely, for maintenance", FileOption),
            NodeCommands.Create(NodeRole.Dns, FileOption),
            NodeCommands.Create(NodeRole.LoadBalancer, FileOption),
            NodeCommands.Create(NodeRole.Web, FileOption),
            NodeCommands.Create(NodeRole.App, FileOption),
            NodeCommands.Create(NodeRole.Database, FileOption),
        };

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                Console.Error.WriteLine($"strata: {error.Message}");
            }

            Console.Error.WriteLine("Run 'strata --help' for usage.");
            return UsageError;
        }

        // Signals are handled by the commands themselves (a foreground 'up' stops its nodes in order),
        // so the parser must not end the process on Ctrl+C.
        return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }

    /// <summary>Loads the topology, or writes its errors (one line each) and returns null.</summary>
    public static Topology.Topology? LoadTopology(ParseResult parse) => LoadTopology(parse.GetValue(FileOption)!);

    private static Topology.Topology? LoadTopology(FileInfo file)
    {
        try
        {
            return TopologyLoader.Load(file.FullName);
        }
        catch (TopologyException ex)
        {
            Console.Error.WriteLine(string.Join(Environment.NewLine, ex.Errors.Select(e => $"strata: {ex.SourcePath}: {e}")));
            return null;
        }
    }

    private static Command UpCommand()
    {
        var detach = new Option<bool>("--detach", "-d") { Description = "Return once every node is ready, leaving them running" };
        var db = NodeCommands.DatabaseOption("The database, whatever the file says: sqlite (embedded) or mysql (a MariaDB server Strata runs as db-1)");
        var netns = new Option<bool>("--netns") { Description = "Run each node in its own network namespace (root)" };
        var dashboard = new Option<string>("--dashboard")
        {
            Description = "Where to serve the live dashboard, a loopback HOST:PORT, or 'off' [dashboard.address of the file, else 127.0.0.1:8099]",
        };
        var command = new Command("up", "Start every node of the topology and wait until all are ready") { FileOption, detach, db, netns, dashboard };
        command.SetAction(async (parse, _) =>
        {
            if (LoadTopology(parse) is not { } topology)
            {
                return UsageError;
            }

            if (parse.GetValue(dashboard) is { } setting)
            {
                if (setting == "off")
                {
                    topology = topology with { Dashboard = null };
                }
                else if (DashboardAddress(setting) is { } address)
                {
                    topology = topology with { Dashboard = address };
                }
                else
                {
                    return UsageError;
                }
            }

            var database = parse.GetValue(db);
            if ((database is null ? topology : ManagedDatabase.Choose(topology, database)).Database.Managed)
            {
                try
                {
                    MariaDbInstallation.Locate();
                }
                catch (DatabaseServerException ex)
                {
                    Console.Error.WriteLine($"strata: {ex.Message}; nothing started");
                    return 1;
                }
            }

            using var stop = new StopSignals();
            return await Orchestrator(topology).UpAsync(parse.GetValue(detach), stop.Token, parse.GetValue(netns), database);
        });
        return command;
    }

    private static Command DashboardCommand()
    {
        var address = new Option<string>("--address") { Description = "A loopback HOST:PORT [dashboard.address of the file, else 127.0.0.1:8099]" };
        var command = new Command("dashboard", "Serve the live dashboard of the running topology (up does it itself; this one ends with the run)") { FileOption, address };
        command.SetAction(async parse =>
        {
            if (LoadTopology(parse) is not { } topology)
            {
                return UsageError;
            }

            var at = parse.GetValue(address) is { } given ? DashboardAddress(given) : topology.Dashboard ?? Topology.Topology.DefaultDashboard;
            if (at is null)
            {
                return UsageError;
            }

            using var stop = new StopSignals();
            return await Orchestrator(topology).DashboardAsync(at, stop.Token);
        });
        return command;
    }

    /// <summary>A loopback HOST:PORT for the dashboard; else a usage error and null.</summary>
    private static IPEndPoint? DashboardAddress(string value)
    {
        if (IPEndPoint.TryParse(value, out var address) && address.Port != 0 && IPAddress.IsLoopback(address.Address) && value.Contains(':', StringComparison.Ordinal))
        {
            return address;
        }

        Usage($"'{value}' is not a loopback HOST:PORT (e.g. 127.0.0.1:8099): the dashboard is never served beyond this machine");
        return null;
    }

    private static Command StatusCommand()
    {
        var json = new Option<bool>("--json") { Description = "Machine-readable output (a stable interface)" };
        var command = new Command("status", "Show every node's state and the VIP owner") { FileOption, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (LoadTopology(parse) is not { } topology)
            {
                return UsageError;
            }

            var report = await Orchestrator(topology).StatusAsync(cancellationToken);
            Console.Write(parse.GetValue(json)
                ? JsonSerializer.Serialize(report, StatusJson) + Environment.NewLine
                : (report.Running ? "" : "not running" + Environment.NewLine) + StatusText.Format(report));
            return 0;
        });
        return command;
    }

    private static Command LogsCommand()
    {
        var node = new Argument<string>("node") { Description = "The node whose log to print, e.g. web-1" };
        var follow = new Option<bool>("--follow", "-f") { Description = "Then print what the node writes next, across log rotations, until Ctrl+C" };
        var lines = new Option<int>("--lines", "-n") { Description = "How many of the last lines to print (default 20)", DefaultValueFactory = _ => 20 };
        lines.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 0)
            {
                result.AddError("--lines must be 0 or more");
            }
        });

        // -f is follow here, as for tail, docker logs and journalctl; the topology file is --file.
        var file = new Option<FileInfo>("--file")
        {
            Description = "The topology file",
            DefaultValueFactory = _ => new FileInfo(TopologyLoader.DefaultFileName),
        };
        var command = new Command("logs", "Print the last lines of a node's own log; -f keeps following it") { node, follow, lines, file };
        command.SetAction(async parse =>
        {
            if (LoadTopology(parse.GetValue(file)!) is not { } topology || KnownNode(topology, parse.GetValue(node)!) is not { } name)
            {
                return UsageError;
            }

            using var stop = new StopSignals();
            return await Orchestrator(topology).LogsAsync(name, parse.GetValue(lines), parse.GetValue(follow), stop.Token);
        });
        return command;
    }

    private static Command DownCommand()
    {
        var command = new Command("down", "Stop every node") { FileOption };
        command.SetAction(async parse => LoadTopology(parse) is { } topology ? await Orchestrator(topology).DownAsync() : UsageError);
        return command;
    }

    private static Command KillCommand()
    {
        var node = new Argument<string>("node") { Description = "The node to SIGKILL, e.g. lb-1" };
        var command = new Command("kill", "SIGKILL one node, for failure drills") { node, FileOption };
        command.SetAction(async parse =>
            LoadTopology(parse) is { } topology && KnownNode(topology, parse.GetValue(node)!) is { } name
                ? await Orchestrator(topology).KillAsync(name)
                : UsageError);
        return command;
    }

    private static Command SwitchoverCommand()
    {
        var node = new Argument<string>("node") { Description = "The database node to make the primary, e.g. db-2" };
        var command = new Command("switchover", "Move the database primary to another database node, with no write lost or failed") { node, FileOption };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (LoadTopology(parse) is not { } topology)
            {
                return UsageError;
            }

            try
            {
                return await Orchestrator(topology).SwitchoverAsync(parse.GetValue(node)!, cancellationToken);
            }
            catch (ArgumentException ex)
            {
                Console.Error.WriteLine($"strata: {ex.Message}");
                return UsageError;
            }
        });
        return command;
    }

    private static Command ScaleCommand()
    {
        var sizes = new Argument<string[]>("sizes") { Description = "TIER=N for each tier to resize, e.g. web=4 app=3 (tiers: web, app)", Arity = ArgumentArity.OneOrMore };
        var command = new Command("scale", "Grow or shrink a tier of the running topology; strata.json keeps the new size") { sizes, FileOption };
        command.SetAction(async (parse, cancellationToken) =>
            LoadTopology(parse) is { } topology && ParseSizes(parse.GetValue(sizes)!) is { } parsed
                ? await Orchestrator(topology).ScaleAsync(parsed, cancellationToken)
                : UsageError);
        return command;
    }

    /// <summary>web=4 app=3 as (tier, size); a usage error and null for anything else.</summary>
    private static List<(string Tier, int Size)>? ParseSizes(IEnumerable<string> arguments)
    {
        var sizes = new List<(string Tier, int Size)>();
        foreach (var argument in arguments)
        {
            var parts = argument.Split('=', 2);
            var tier = parts[0].Trim().ToLowerInvariant();
            if (parts.Length != 2 || !int.TryParse(parts[1], out var size))
            {
                Usage($"'{argument}' is not TIER=N (e.g. web=4)");
                return null;
            }

            if (Orchestration.Orchestrator.ScaleProblem(tier, size) is { } problem)
            {
                Usage(problem);
                return null;
            }

            if (sizes.Any(s => s.Tier == tier))
            {
                Usage($"{tier} is given twice");
                return null;
            }

            sizes.Add((tier, size));
        }

        return sizes;
    }

    private static Command ReopenLogsCommand()
    {
        var command = new Command("reopen-logs", "Have every node reopen its log files (SIGUSR1), after logrotate moved them") { FileOption };
        command.SetAction(parse => LoadTopology(parse) is { } topology ? Orchestrator(topology).ReopenLogs() : UsageError);
        return command;
    }

    private static Command StartCommand()
    {
        var node = new Argument<string>("node") { Description = "The node to start again, e.g. lb-1" };
        var command = new Command("start", "Start one node of a running topology again") { node, FileOption };
        command.SetAction(async (parse, cancellationToken) =>
            LoadTopology(parse) is { } topology && KnownNode(topology, parse.GetValue(node)!) is { } name
                ? await Orchestrator(topology).StartAsync(name, cancellationToken)
                : UsageError);
        return command;
    }

    private static Command CutCommand()
    {
        var node = new Argument<string>("node") { Description = "The node to cut off, e.g. lb-1" };
        var from = new Option<string>("--from") { Description = "Cut only the link between NODE and this node (both still reach the rest): a split brain for two load balancers" };
        var command = new Command("cut", "Under 'up --netns': take a node's link down, for failure drills") { node, from, FileOption };
        command.SetAction(async parse =>
            LoadTopology(parse) is { } topology && KnownNode(topology, parse.GetValue(node)!) is { } name
                && (parse.GetValue(from) is not { } other || KnownNode(topology, other) is not null)
                ? await Orchestrator(topology).CutAsync(name, parse.GetValue(from))
                : UsageError);
        return command;
    }

    private static Command HealCommand()
    {
        var node = new Argument<string>("node") { Description = "The node to connect again, e.g. lb-1" };
        var command = new Command("heal", "Under 'up --netns': undo 'cut' for a node") { node, FileOption };
        command.SetAction(async parse =>
            LoadTopology(parse) is { } topology && KnownNode(topology, parse.GetValue(node)!) is { } name
                ? await Orchestrator(topology).HealAsync(name)
                : UsageError);
        return command;
    }

    private static Command BackupCommand()
    {
        var output = new Option<string>("--output", "-o") { Description = "The folder to write the backup in, new or empty [.strata/backups/UTC-TIME]", HelpName = "dir" };
        var command = new Command("backup", "Back up the managed database's primary while writes go on: a consistent dump and its manifest") { output, FileOption };
        command.SetAction(async (parse, cancellationToken) =>
            LoadTopology(parse) is { } topology
                ? await Orchestrator(topology).BackupAsync(parse.GetValue(output), cancellationToken)
                : UsageError);
        return command;
    }

    private static Command RestoreCommand()
    {
        var folder = new Argument<string>("folder") { Description = "A backup's folder, as 'strata backup' wrote it" };
        var command = new Command("restore", "Replace the schema on the running primary with a backup's, checked first; the replicas follow") { folder, FileOption };
        command.SetAction(async (parse, cancellationToken) =>
            LoadTopology(parse) is { } topology
                ? await Orchestrator(topology).RestoreAsync(parse.GetValue(folder)!, cancellationToken)
                : UsageError);
        return command;
    }

    private static Command DrillCommand()
    {
        var duration = new Option<int>("--duration") { Description = "Seconds during which nodes are struck (the last restart and the read-back come after)", DefaultValueFactory = _ => 60 };
        var seed = new Option<int?>("--seed") { Description = "Seed of the victims' sequence, to repeat a drill [random, printed]" };
        var tiers = new Option<string>("--tiers") { Description = "Tiers whose nodes may be struck, e.g. lb,web,app [every tier the topology has: lb, web, app, and db when Strata runs the database]" };
        var outputDirectory = new Option<DirectoryInfo>("--output", "-o") { Description = "Where to write the report (text and JSON) [.strata/drill beside the topology file]" };
        var command = new Command("drill", "A chaos drill on the running topology: kill (or cut) nodes at random under load, restart them, report failures, time without service and lost writes")
        {
            duration, seed, tiers, outputDirectory, FileOption,
        };
        command.SetAction(async parse =>
        {
            if (LoadTopology(parse) is not { } topology)
            {
                return UsageError;
            }

            IReadOnlyList<string> chosen = [];
            if (parse.GetValue(tiers) is { } value)
            {
                if (DrillTiers.Parse(value, out var problem) is not { } parsed)
                {
                    return Usage(problem!);
                }

                chosen = parsed;
            }

            var options = new DrillOptions
            {
                Duration = TimeSpan.FromSeconds(parse.GetValue(duration)),
                Seed = parse.GetValue(seed) ?? Random.Shared.Next(),
                Tiers = chosen,
                OutputDirectory = parse.GetValue(outputDirectory)?.FullName,
            };
            using var stop = new StopSignals();
            return await Orchestrator(topology).DrillAsync(options, stop.Token);
        });
        return command;
    }

    /// <summary>The name when it is a node of the topology as it runs (with the database of 'up --db'); else a usage error and null.</summary>
    private static string? KnownNode(Topology.Topology topology, string name)
    {
        var nodes = Orchestrator(topology).NodeNames();
        if (nodes.Contains(name, StringComparer.Ordinal))
        {
            return name;
        }

        Usage($"no node named '{name}'; the nodes are: {string.Join(", ", nodes)}");
        return null;
    }

    public static Orchestrator Orchestrator(Topology.Topology topology) =>
        new(topology, node => NodeCommands.CommandLine(node, topology.SourcePath), Console.Out, Console.Error) { StrataCommand = NodeCommands.Executable };

    public static int Usage(string message)
    {
        Console.Error.WriteLine($"strata: {message}");
        return UsageError;
    }

    /// <summary>A token that Ctrl+C or SIGTERM cancels, for a command that ends cleanly on them (a foreground 'up', 'logs -f').</summary>
    private sealed class StopSignals : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly PosixSignalRegistration _sigint;
        private readonly PosixSignalRegistration _sigterm;

        public StopSignals()
        {
            _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
            _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);
        }

        public CancellationToken Token => _stop.Token;

        public void Dispose()
        {
            _sigint.Dispose();
            _sigterm.Dispose();
            _stop.Dispose();
        }

        private void Cancel(PosixSignalContext context)
        {
            context.Cancel = true;
            _stop.Cancel();
        }
    }
}
