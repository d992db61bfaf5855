using System.Text.Json.Nodes;
using Strata.Export;
using Strata.Hosting.Tls;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.Export;

/// <summary>The classic stack's programs (Debian's haproxy, nginx, keepalived) and topologies to export.</summary>
internal static class ExportTools
{
    /// <summary>Where a program is: PATH, then sbin (a non-login PATH may lack it).</summary>
    public static string? Find(string name) =>
        Strata.Hosting.Processes.Programs.Find(name, "/usr/sbin", "/sbin");

    /// <summary>Why <paramref name="name"/> cannot run here, or null.</summary>
    public static string? Unavailable(string name) =>
        Find(name) is null ? $"{name} is not installed (apt-get install {name}; ./run-tests installs it as root)" : null;

    /// <summary>The repository's strata.json, changed by <paramref name="change"/>, loaded as a user's would be.</summary>
    public static Strata.Topology.Topology Load(string directory, Action<JsonObject>? change = null)
    {
        var json = TestTopology.DefaultJson();
        change?.Invoke(json);
        return TopologyLoader.Load(TestTopology.Write(json, directory));
    }

    /// <summary>The configuration file of a single-configuration target (haproxy.cfg, nginx.conf), its first.</summary>
    public static string Export(string target, Strata.Topology.Topology topology, string directory, int? workers = null) =>
        Files(target, topology, directory, workers)[0].Content;

    /// <summary>Writes every file of <paramref name="target"/> into <paramref name="directory"/>, as the CLI does; returns the first's path.</summary>
    public static string WriteAll(string target, Strata.Topology.Topology topology, string directory, int? workers = null) =>
        Files(target, topology, directory, workers).Select(f => f.WriteTo(directory)).ToList()[0];

    /// <summary>The files of <paramref name="target"/>, with the local CA's certificate made first when vip.tls generates it, as the CLI does.</summary>
    public static IReadOnlyList<ExportedFile> Files(string target, Strata.Topology.Topology topology, string directory, int? workers = null)
    {
        if (topology.VipTls is { Generate: true } tls)
        {
            LocalCertificateAuthority.Ensure(topology, tls);
        }

        return ExportTargets.Export(target, topology, new ExportSettings(directory, workers));
    }

    /// <summary>The lines of a configuration, trimmed, without comments and empty lines.</summary>
    public static IReadOnlyList<string> Lines(string config) =>
        [.. config.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))];

    /// <summary>The lines of one block ("backend web", "upstream app {") up to the next top-level line.</summary>
    public static IReadOnlyList<string> Block(string config, string header)
    {
        var blocks = Blocks(config, header);
        Assert.True(blocks.Count > 0, $"no '{header}' in:\n{config}");
        return blocks[0];
    }

    /// <summary>Every block that starts with <paramref name="header"/> ("server {"), in order, as <see cref="Block"/> reads one.</summary>
    public static IReadOnlyList<IReadOnlyList<string>> Blocks(string config, string header)
    {
        var lines = config.Split('\n');
        var blocks = new List<IReadOnlyList<string>>();
        for (var start = 0; start < lines.Length; start++)
        {
            if (!lines[start].TrimStart().StartsWith(header, StringComparison.Ordinal))
            {
                continue;
            }

            var indent = lines[start].Length - lines[start].TrimStart().Length;
            blocks.Add([.. lines.Skip(start + 1)
                .TakeWhile(l => l.Trim().Length == 0 || l.Length - l.TrimStart().Length > indent)
                .Select(l => l.Trim())
                .Where(l => l.Length > 0 && !l.StartsWith('#'))]);
        }

        return blocks;
    }

    /// <summary>A folder the unprivileged nginx workers (nobody, when the tests run as root) can read.</summary>
    public static string ReadableTempDirectory(string prefix)
    {
        var dir = Directory.CreateTempSubdirectory(prefix).FullName;
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
        }

        return dir;
    }
}
