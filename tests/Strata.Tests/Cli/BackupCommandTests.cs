using System.Text.Json.Nodes;
using Strata.Tests.Common;
using Strata.Tests.Orchestration.Backups;

namespace Strata.Tests.Cli;

/// <summary><c>strata backup</c> and <c>strata restore</c> where there is nothing to back up or restore into: exit 2, and why.</summary>
public sealed class BackupCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("strata-cli-backup-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Backup_SqliteTopology_Exit2NoManagedDatabase()
    {
        var path = TestTopology.Write(TestTopology.DefaultJson(), _dir);

        var result = await StrataCli.RunAsync("backup", "-f", path);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("strata: this topology has no managed database", result.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_dir, ".strata", "backups")));
    }

    [Fact]
    public async Task Backup_ManagedDatabaseNotRunning_Exit2HowToStartIt()
    {
        var result = await StrataCli.RunAsync("backup", "-o", Path.Combine(_dir, "b"), "-f", ManagedTopology());

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(
            "strata: not running: a backup is taken from, and a restore loaded into, the running topology's primary; 'strata up --db mysql' starts it",
            result.Error.TrimEnd());
        Assert.False(Directory.Exists(Path.Combine(_dir, "b")));
    }

    [Fact]
    public async Task Restore_GoodBackupTopologyNotRunning_CheckedThenExit2()
    {
        var folder = Path.Combine(_dir, "backup");
        SampleDump.WriteBackup(folder);

        var result = await StrataCli.RunAsync("restore", folder, "-f", ManagedTopology());

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith($"{folder}: a backup of db-1 taken 2026-12-06 23:09:19Z at GTID 0-1-5; foobar.sql (", result.Output, StringComparison.Ordinal);
        Assert.EndsWith(" KiB) matches its manifest", result.Output.TrimEnd(), StringComparison.Ordinal);
        Assert.StartsWith("strata: not running:", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restore_NotABackup_Exit1()
    {
        var result = await StrataCli.RunAsync("restore", _dir, "-f", ManagedTopology());

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"strata: not restored: {_dir} is not a finished backup: it has no manifest.json (a backup that did not finish has none)", result.Error.TrimEnd());
    }

    [Fact]
    public async Task Restore_NoFolderGiven_Exit2()
    {
        var result = await StrataCli.RunAsync("restore", "-f", ManagedTopology());

        Assert.Equal(2, result.ExitCode);
    }

    private string ManagedTopology()
    {
        var json = TestTopology.DefaultJson();
        json["database"] = new JsonObject { ["engine"] = "mysql", ["managed"] = true };
        return TestTopology.Write(json, _dir);
    }
}
