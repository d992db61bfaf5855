namespace Strata.Orchestration.Runs;

/// <summary>
/// The folder <c>.strata/</c> beside the topology file: the run file, one log per node, and the SQLite
/// database by default. Keyed by the topology file's folder so that two topologies in two folders
/// (a user's and a test's) never share one.
/// </summary>
public sealed class RunDirectory
{
    /// <summary>The run folder of the topology at <paramref name="topologyPath"/>.</summary>
    public RunDirectory(string topologyPath)
    {
        Root = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(topologyPath))!, ".strata");
    }

    /// <summary>The folder itself.</summary>
    public string Root { get; }

    /// <summary>The run file.</summary>
    public string StatePath => Path.Combine(Root, "run.json");

    /// <summary>Where node <paramref name="name"/> logs.</summary>
    public string LogPath(string name) => Path.Combine(Root, "logs", $"{name}.log");

    /// <summary>The recorded run, or null when nothing was started.</summary>
    public RunState? ReadState() => RunState.Read(StatePath);

    /// <summary>Records the run.</summary>
    public void WriteState(RunState state)
    {
        Directory.CreateDirectory(Root);
        state.Write(StatePath);
    }

    /// <summary>Forgets the run (after everything was stopped).</summary>
    public void DeleteState() => File.Delete(StatePath);
}
