using System.Text.Json;
using Strata.Orchestration.Netns;

namespace Strata.Orchestration.Runs;

/// <summary>One started node, as recorded in the run file.</summary>
/// <param name="Name">Node name.</param>
/// <param name="Pid">Process id of the node itself (not of a wrapper).</param>
/// <param name="LogPath">Its stdout and stderr.</param>
public sealed record RunNode(string Name, int Pid, string LogPath);

/// <summary>What <c>up</c> started, so that <c>status</c>, <c>down</c>, <c>kill</c> and <c>start</c> can find it.</summary>
/// <param name="TopologyPath">The topology file it was started from.</param>
/// <param name="Nodes">Started nodes.</param>
/// <param name="Netns">The namespaces of an <c>up --netns</c> run, or null.</param>
/// <param name="Database">The engine of <c>up --db</c>, or null when the file's database runs.</param>
/// <param name="Stopping">Set by <c>down</c> before it stops the nodes, so a foreground <c>up</c> watching the run knows
/// they are meant to exit.</param>
/// <param name="Dashboard">The dashboard's own process of <c>up --detach</c> (<c>down</c> stops it first), or null.</param>
public sealed record RunState(string TopologyPath, IReadOnlyList<RunNode> Nodes, NetnsRun? Netns = null, string? Database = null, bool Stopping = false, RunNode? Dashboard = null)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>The recorded node with this name, or null.</summary>
    public RunNode? Find(string name) => Nodes.FirstOrDefault(n => n.Name == name);

    /// <summary>This state with <paramref name="node"/> recorded, replacing an older record of the same name.</summary>
    public RunState With(RunNode node) => this with { Nodes = [.. Nodes.Where(n => n.Name != node.Name), node] };

    /// <summary>This state without the node <paramref name="name"/> (scaled away).</summary>
    public RunState Without(string name) => this with { Nodes = [.. Nodes.Where(n => n.Name != name)] };

    internal static RunState? Read(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<RunState>(File.ReadAllText(path), Json);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            // Not started, or 'down' has just removed it (a foreground 'up' reads it while another terminal stops the run).
            return null;
        }
    }

    internal void Write(string path)
    {
        var temp = path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(this, Json));
        File.Move(temp, path, overwrite: true);
    }
}
