using Strata.Orchestration.Backups;

namespace Strata.Tests.Orchestration.Backups;

/// <summary>The manifest as written and read back.</summary>
public sealed class BackupManifestTests
{
    [Fact]
    public void ToJson_ThenParse_TheSameManifest()
    {
        var manifest = new BackupManifest(
            1, new DateTimeOffset(2026, 12, 6, 23, 9, 19, 123, TimeSpan.Zero), "db-1", "foobar", "0-1-5",
            new BackupDumpFile("foobar.sql", 1234, new string('a', 64)), "10.11.19-MariaDB", "mariadb-bin.000001", 1293, "1.0.0+abc");

        var json = manifest.ToJson();

        Assert.Equal(manifest, BackupManifest.Parse(json, out var problem));
        Assert.Null(problem);
        Assert.Contains("\"strataVersion\": \"1.0.0+abc\"", json, StringComparison.Ordinal);
        Assert.Contains("\"gtidPosition\": \"0-1-5\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void ToJson_OptionalFieldsUnknown_LeftOutAndReadBack()
    {
        var manifest = new BackupManifest(1, DateTimeOffset.UnixEpoch, "db-2", "foobar", "", new BackupDumpFile("foobar.sql", 0, new string('0', 64)));

        var json = manifest.ToJson();

        Assert.DoesNotContain("binlogFile", json, StringComparison.Ordinal);
        Assert.Equal(manifest, BackupManifest.Parse(json, out _));
    }
}
