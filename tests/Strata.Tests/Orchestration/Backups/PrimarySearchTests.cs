using Strata.Orchestration.Backups;
using Strata.Topology;

namespace Strata.Tests.Orchestration.Backups;

/// <summary>The primary is the one running node that accepts writes; anything else is said, node by node.</summary>
public sealed class PrimarySearchTests
{
    [Fact]
    public void Primary_OneWritableOneReplica_TheWritableOne()
    {
        var search = new PrimarySearch([Writable(0), Replica(1)]);

        Assert.Equal("db-1", search.Primary?.Node.Name);
        Assert.Equal(["db-2"], search.Replicas.Select(r => r.Node.Name));
        Assert.Null(search.Problem);
    }

    [Fact]
    public void Primary_AfterFailover_TheReplicaPromoted()
    {
        var search = new PrimarySearch([Down(0), Writable(1)]);

        Assert.Equal("db-2", search.Primary?.Node.Name);
        Assert.Empty(search.Replicas);
    }

    [Fact]
    public void Problem_TwoWritable_NoSinglePrimary()
    {
        var search = new PrimarySearch([Writable(0), Writable(1)]);

        Assert.Null(search.Primary);
        Assert.StartsWith("no single primary: db-1 and db-2 accept writes (read_only=0)", search.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Problem_OnlyAReplicaRunning_EachNodeSaid()
    {
        var search = new PrimarySearch([Down(0), Replica(1), Silent(2)]);

        Assert.Null(search.Primary);
        Assert.Equal(
            "no primary: no running database node accepts writes (db-1 is down; db-2 is read-only (a replica); db-3 does not answer on /s: refused)",
            search.Problem);
    }

    [Fact]
    public void Problem_NothingRunning_HowToStartOne()
    {
        var search = new PrimarySearch([Down(0), Down(1)]);

        Assert.Equal("no database node is running (db-1, db-2: down): 'strata start db-1' starts one", search.Problem);
    }

    private static DatabaseNodeAnswer Writable(int index) => new(ManagedDatabase.DefaultNode(index), "/s", Running: true, ReadOnly: false, "10.11", Problem: null);

    private static DatabaseNodeAnswer Replica(int index) => new(ManagedDatabase.DefaultNode(index), "/s", Running: true, ReadOnly: true, "10.11", Problem: null);

    private static DatabaseNodeAnswer Down(int index) => new(ManagedDatabase.DefaultNode(index), "/s", Running: false, ReadOnly: null, null, Problem: "is down");

    private static DatabaseNodeAnswer Silent(int index) => new(ManagedDatabase.DefaultNode(index), "/s", Running: true, ReadOnly: null, null, Problem: "does not answer on /s: refused");
}
