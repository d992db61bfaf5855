using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

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

    /// <summary>The run's admin API token, readable by its owner only.</summary>
    public string AdminTokenPath => Path.Combine(Root, "admin-token");

    /// <summary>The run's admin token, or null when there is none.</summary>
    public string? ReadAdminToken()
    {
        if (!File.Exists(AdminTokenPath))
        {
            return null;
        }

        var token = File.ReadAllText(AdminTokenPath).Trim();
        return token.Length > 0 ? token : null;
    }

    /// <summary>Writes a fresh random admin token (32 bytes, base64url) with mode 0600, and returns it.</summary>
    public string CreateAdminToken()
    {
        if (OperatingSystem.IsWindows())
        {
            // Like setsid and /proc elsewhere in the orchestrator: nodes run on Linux.
            throw new PlatformNotSupportedException("the admin token file needs Unix file modes");
        }

        var token = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        Directory.CreateDirectory(Root);
        DeleteAdminToken();
        // Created 0600 from the start, so the token is never readable by others, not even for a moment.
        using (var file = new FileStream(AdminTokenPath, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        {
            file.Write(Encoding.ASCII.GetBytes(token + "\n"));
        }

        // The umask cannot widen UnixCreateMode, but say it explicitly.
        File.SetUnixFileMode(AdminTokenPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return token;
    }

    /// <summary>Forgets the run's admin token.</summary>
    public void DeleteAdminToken()
    {
        if (File.Exists(AdminTokenPath))
        {
            File.Delete(AdminTokenPath);
        }
    }
}
