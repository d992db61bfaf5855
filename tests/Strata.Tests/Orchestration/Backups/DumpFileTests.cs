using System.Text;
using Strata.Orchestration.Backups;

namespace Strata.Tests.Orchestration.Backups;

/// <summary>What a mariadb-dump file says besides its statements, read in the pass that hashes it.</summary>
public sealed class DumpFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("strata-dump-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task ReadAsync_MariadbDump_ItsSizeHashAndTheSnapshotsPosition()
    {
        var path = Write(SampleDump.Text);
        var bytes = Encoding.UTF8.GetBytes(SampleDump.Text);

        var dump = await DumpFile.ReadAsync(path, CancellationToken.None);

        Assert.Equal(new DumpFile(bytes.Length, SampleDump.Sha256(bytes), "0-1-5", "mariadb-bin.000001", 1293, Complete: true, ReplicationStatement: null), dump);
    }

    [Fact]
    public async Task ReadAsync_RowsThatReadLikeStatements_AreRows()
    {
        // The sample's rows hold "CHANGE MASTER TO …" and "SET sql_log_bin=0": they start with '(' on their own lines.
        var dump = await DumpFile.ReadAsync(Write(SampleDump.Text), CancellationToken.None);

        Assert.Null(dump.ReplicationStatement);
    }

    [Fact]
    public async Task ReadAsync_ServerThatNeverLoggedATransaction_EmptyGtidPosition()
    {
        var text = SampleDump.Text.Replace("gtid_slave_pos='0-1-5'", "gtid_slave_pos=''", StringComparison.Ordinal);

        var dump = await DumpFile.ReadAsync(Write(text), CancellationToken.None);

        Assert.Equal("", dump.GtidPosition);
    }

    [Fact]
    public async Task ReadAsync_SeveralReplicationDomains_TheWholePosition()
    {
        var text = SampleDump.Text.Replace("gtid_slave_pos='0-1-5'", "gtid_slave_pos='0-1-5,1-2-7'", StringComparison.Ordinal);

        var dump = await DumpFile.ReadAsync(Write(text), CancellationToken.None);

        Assert.Equal("0-1-5,1-2-7", dump.GtidPosition);
    }

    [Fact]
    public async Task ReadAsync_StatementsAfterTheLastComment_NotComplete()
    {
        var dump = await DumpFile.ReadAsync(Write(SampleDump.Text + "INSERT INTO `messages` VALUES (9,'late');\n"), CancellationToken.None);

        Assert.False(dump.Complete);
    }

    private string Write(string text)
    {
        var path = Path.Combine(_dir, "foobar.sql");
        File.WriteAllText(path, text);
        return path;
    }
}
