using System.Text;
using Strata.Orchestration.Backups;

namespace Strata.Tests.Orchestration.Backups;

/// <summary>
/// What <c>strata restore</c> checks before it changes anything: a finished backup (a manifest this version reads), its
/// dump's size and SHA-256 as the manifest says, a dump mariadb-dump finished, and no statement in it that would set the
/// server's replication position.
/// </summary>
public sealed class BackupFolderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("strata-backup-").FullName;

    private string Folder => Path.Combine(_dir, "backup");

    private string DumpPath => Path.Combine(Folder, "foobar.sql");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void DefaultPath_BackupOfTheSameSecondThere_NextNumber()
    {
        var now = new DateTimeOffset(2026, 12, 6, 23, 9, 19, 500, TimeSpan.Zero);
        var first = BackupFolder.DefaultPath(_dir, now);
        Directory.CreateDirectory(first);

        var second = BackupFolder.DefaultPath(_dir, now);

        Assert.Equal(Path.Combine(_dir, "backups", "20261206T230919Z"), first);
        Assert.Equal(first + "-2", second);
    }

    [Fact]
    public async Task VerifyAsync_UnchangedBackup_ItsManifestAndDump()
    {
        SampleDump.WriteBackup(Folder);

        var (manifest, dumpPath) = await BackupFolder.VerifyAsync(Folder, CancellationToken.None);

        Assert.Equal(DumpPath, dumpPath);
        Assert.Equal(("db-1", "foobar", "0-1-5", "mariadb-bin.000001", 1293L), (manifest.SourceNode, manifest.Database, manifest.GtidPosition, manifest.BinlogFile, manifest.BinlogPosition));
        Assert.Equal(new DateTimeOffset(2026, 12, 6, 23, 9, 19, 123, TimeSpan.Zero), manifest.CreatedAt);
    }

    [Fact]
    public async Task VerifyAsync_OneByteOfTheDumpChanged_RefusedOnItsSha256()
    {
        SampleDump.WriteBackup(Folder);
        var bytes = File.ReadAllBytes(DumpPath);
        var at = SampleDump.Text.IndexOf("(1,'a')", StringComparison.Ordinal) + 4;
        bytes[at] = (byte)'b';
        File.WriteAllBytes(DumpPath, bytes);

        var refusal = await Assert.ThrowsAsync<BackupException>(() => BackupFolder.VerifyAsync(Folder, CancellationToken.None));

        Assert.Contains("does not match its manifest (SHA-256 ", refusal.Message, StringComparison.Ordinal);
        Assert.EndsWith("it was changed after the backup; nothing restored", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyAsync_DumpCutShort_RefusedOnItsSize()
    {
        SampleDump.WriteBackup(Folder);
        using (var file = File.OpenWrite(DumpPath))
        {
            file.SetLength(100);
        }

        var refusal = await Assert.ThrowsAsync<BackupException>(() => BackupFolder.VerifyAsync(Folder, CancellationToken.None));

        Assert.Contains($"foobar.sql is 100 bytes, the manifest says {Encoding.UTF8.GetByteCount(SampleDump.Text)}: the backup is partial or was changed", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyAsync_NoManifest_RefusedAsUnfinished()
    {
        SampleDump.WriteBackup(Folder);
        File.Delete(Path.Combine(Folder, "manifest.json"));

        var refusal = await Assert.ThrowsAsync<BackupException>(() => BackupFolder.VerifyAsync(Folder, CancellationToken.None));

        Assert.Equal($"{Folder} is not a finished backup: it has no manifest.json (a backup that did not finish has none)", refusal.Message);
    }

    [Fact]
    public async Task VerifyAsync_NoDump_RefusedAsIncomplete()
    {
        SampleDump.WriteBackup(Folder);
        File.Delete(DumpPath);

        var refusal = await Assert.ThrowsAsync<BackupException>(() => BackupFolder.VerifyAsync(Folder, CancellationToken.None));

        Assert.Equal($"{Folder} is incomplete: its dump foobar.sql is missing", refusal.Message);
    }

    [Fact]
    public async Task VerifyAsync_NoFolder_Refused()
    {
        var refusal = await Assert.ThrowsAsync<BackupException>(() => BackupFolder.VerifyAsync(Folder, CancellationToken.None));

        Assert.Equal($"{Folder} does not exist", refusal.Message);
    }

    [Theory]
    [InlineData("""{"format": 1, "createdAt": "2026-12-06T23:09:19Z", "sourceNode": "db-1", "database": "foobar", "gtidPosition": "0-1-5"}""", "JSON deserialization")]
    [InlineData("""{"format": 1, "createdAt": "2026-12-06T23:09:19Z", "sourceNode": null, "database": "foobar", "gtidPosition": "0-1-5", "dump": {"file": "foobar.sql", "size": 1, "sha256": "00"}}""", "sourceNode")]
    [InlineData("""{"format": 1, "createdAt": "2026-12-06T23:09:19Z", "sourceNode": "db-1", "database": "foobar", "gtidPosition": "0-1-5", "dump": {"file": "foobar.sql", "sha256": "00"}}""", "size")]
    [InlineData("""{"format": 1, "sourceNode": "db-1", """, "not valid JSON")]
    [InlineData("null", "it is null")]
    public async Task VerifyAsync_ManifestCutOrWithoutAField_Refused(string manifest, string reason)
    {
        SampleDump.WriteBackup(Folder, manifestJson: manifest);

        var refusal = await Assert.ThrowsAsync<BackupException>(() => BackupFolder.VerifyAsync(Folder, CancellationToken.None));

        Assert.StartsWith($"{Path.Combine(Folder, "manifest.json")} is not a backup manifest: ", refusal.Message, StringComparison.Ordinal);
        Assert.Contains(reason, refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyAsync_AnotherFormat_Refused()
    {
        var bytes = Encoding.UTF8.GetBytes(SampleDump.Text);
        SampleDump.WriteBackup(Folder, manifestJson: SampleDump.Manifest(bytes.Length, SampleDump.Sha256(bytes), format: 2));

        var refusal = await Assert.ThrowsAsync<BackupException>(() => BackupFolder.VerifyAsync(Folder, CancellationToken.None));

        Assert.EndsWith("its format is 2; this strata reads format 1", refusal.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../outside.sql")]
    [InlineData("/etc/passwd")]
    [InlineData("..")]
    public async Task VerifyAsync_ManifestNamesAFileOutsideTheFolder_Refused(string file)
    {
        var bytes = Encoding.UTF8.GetBytes(SampleDump.Text);
        SampleDump.WriteBackup(Folder, manifestJson: SampleDump.Manifest(bytes.Length, SampleDump.Sha256(bytes), file));
        File.WriteAllBytes(Path.Combine(_dir, "outside.sql"), bytes);

        var refusal = await Assert.ThrowsAsync<BackupException>(() => BackupFolder.VerifyAsync(Folder, CancellationToken.None));

        Assert.EndsWith($"dump.file '{file}' is not the name of a file in the backup's folder", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyAsync_DumpNotFinishedButMatchingItsManifest_Refused()
    {
        var dump = SampleDump.Text[..SampleDump.Text.IndexOf("-- Dump completed", StringComparison.Ordinal)];
        SampleDump.WriteBackup(Folder, dump);

        var refusal = await Assert.ThrowsAsync<BackupException>(() => BackupFolder.VerifyAsync(Folder, CancellationToken.None));

        Assert.EndsWith("does not end as a finished dump does ('-- Dump completed'); nothing restored", refusal.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("CHANGE MASTER TO MASTER_LOG_FILE='mariadb-bin.000001', MASTER_LOG_POS=1293;")]
    [InlineData("SET GLOBAL gtid_slave_pos='0-1-5';")]
    [InlineData("SET @@SESSION.SQL_LOG_BIN= 0;")]
    [InlineData("/*!40101 SET sql_log_bin=0 */;")]
    [InlineData("  reset master;")]
    public async Task VerifyAsync_DumpWouldSetReplication_Refused(string statement)
    {
        // A dump made by hand with --master-data=1 (or MySQL's mysqldump), given a manifest that matches it.
        var dump = SampleDump.Text.Replace("USE `foobar`;", "USE `foobar`;\n" + statement, StringComparison.Ordinal);
        SampleDump.WriteBackup(Folder, dump);

        var refusal = await Assert.ThrowsAsync<BackupException>(() => BackupFolder.VerifyAsync(Folder, CancellationToken.None));

        Assert.Contains($"would change the server's replication state when loaded (line 22: {statement})", refusal.Message, StringComparison.Ordinal);
    }
}
