using System.Net;
using System.Text.Json.Nodes;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.Topology;

/// <summary>The managed database server: <c>"engine": "mysql", "managed": true</c> in the file, or <c>--db mysql</c>.</summary>
public sealed class ManagedDatabaseValidationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("strata-manageddb-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Load_Managed_AddsAPrimaryAndAReplicaWithTheirDefaultsAndFolders()
    {
        var topology = TopologyLoader.Load(Write(new JsonObject { ["engine"] = "mysql", ["managed"] = true }));

        Assert.Equal(["db-1", "db-2"], topology.Database.Nodes.Select(n => n.Name));
        var server = topology.Database.Nodes[0];
        Assert.Equal(("db-1", NodeRole.Database), (server.Name, server.Role));
        Assert.Equal(IPEndPoint.Parse("127.0.4.1:3306"), server.Address);
        Assert.Equal(IPEndPoint.Parse("127.0.4.1:8081"), server.Management);
        Assert.Equal(IPEndPoint.Parse("127.0.4.2:3306"), topology.Database.Nodes[1].Address);
        Assert.Equal(Path.Combine(_dir, ".strata", "database"), topology.Database.Path);
        Assert.Equal(Path.Combine(_dir, ".strata", "db-2"), ManagedDatabase.NodeFolder(topology.Database, "db-2"));
        Assert.Null(topology.Database.ConnectionString);
        Assert.Equal("db-2", topology.AllNodes.Last().Name);
        Assert.Same(server, topology.FindNode("db-1"));
    }

    [Fact]
    public void Load_ManagedWithNode_UsesItsNameAndAddresses()
    {
        var topology = TopologyLoader.Load(Write(new JsonObject
        {
            ["engine"] = "mysql",
            ["managed"] = true,
            ["node"] = new JsonObject { ["name"] = "mysql-a", ["address"] = "127.0.4.9:13306", ["management"] = "127.0.4.9:18081" },
        }));

        Assert.Equal("mysql-a", topology.Database.Nodes[0].Name);
        Assert.Equal(IPEndPoint.Parse("127.0.4.9:13306"), topology.Database.Nodes[0].Address);
        Assert.Single(topology.Database.Nodes);
        Assert.Equal(Path.Combine(_dir, ".strata", "mysql-a"), ManagedDatabase.NodeFolder(topology.Database, "mysql-a"));
    }

    [Fact]
    public void Voters_TheDatabaseNodesAndOneAppNodeFewer_SoTheAppNodesAloneAreNeverAMajority()
    {
        var topology = TopologyLoader.Load(Write(new JsonObject { ["engine"] = "mysql", ["managed"] = true }));
        Assert.Equal(["db-1", "db-2", "app-1"], ManagedDatabase.Voters(topology).Select(n => n.Name));

        var three = TopologyLoader.Load(Write(new JsonObject { ["engine"] = "mysql", ["managed"] = true, ["nodes"] = new JsonArray(new JsonObject(), new JsonObject(), new JsonObject()) }));
        Assert.Equal(["db-1", "db-2", "db-3", "app-1", "app-2"], ManagedDatabase.Voters(three).Select(n => n.Name));
    }

    [Theory]
    [InlineData("database.managed", "needs \"engine\": \"mysql\"", """{"engine":"sqlite","managed":true}""")]
    [InlineData("database.connectionString", "is Strata's own for a managed server", """{"engine":"mysql","managed":true,"connectionString":"Server=x"}""")]
    [InlineData("database.path", "is for SQLite", """{"engine":"mysql","managed":true,"path":"x.db"}""")]
    [InlineData("database.node", "takes only name, address and management", """{"engine":"mysql","managed":true,"node":{"weight":2}}""")]
    [InlineData("database.node", "set \"managed\": true", """{"engine":"mysql","connectionString":"Server=x","node":{"name":"db-1"}}""")]
    [InlineData("database.node.name", "is already the name of", """{"engine":"mysql","managed":true,"node":{"name":"app-1"}}""")]
    [InlineData("database.node.address", "is already used by app-1", """{"engine":"mysql","managed":true,"node":{"address":"127.0.3.1:8080"}}""")]
    [InlineData("database.node.management", "is already used by db-1", """{"engine":"mysql","managed":true,"node":{"address":"127.0.4.1:3306","management":"127.0.4.1:3306"}}""")]
    [InlineData("database.connectionString", "is required when the engine is mysql and not managed", """{"engine":"mysql"}""")]
    [InlineData("database.nodes", "must list 1 to 9 nodes", """{"engine":"mysql","managed":true,"nodes":[]}""")]
    [InlineData("database.node", "is the one-node form of database.nodes", """{"engine":"mysql","managed":true,"node":{},"nodes":[{}]}""")]
    [InlineData("database.nodes[1].name", "is already the name of database.nodes[0].name", """{"engine":"mysql","managed":true,"nodes":[{"name":"db-a"},{"name":"db-a"}]}""")]
    [InlineData("database.nodes[1].address", "is already used by db-1", """{"engine":"mysql","managed":true,"nodes":[{},{"address":"127.0.4.1:3306"}]}""")]
    [InlineData("database.nodes", "set \"managed\": true", """{"engine":"mysql","connectionString":"Server=x","nodes":[{}]}""")]
    public void Load_BadManagedDatabase_NamesTheFieldAndTheProblem(string field, string problem, string database)
    {
        var error = Assert.Throws<TopologyException>(() => TopologyLoader.Load(Write(JsonNode.Parse(database)!.AsObject())));

        Assert.Contains(error.Errors, e => e.Field == field && e.Problem.Contains(problem, StringComparison.Ordinal));
    }

    [Fact]
    public void Choose_Mysql_OverSqlite_IsTheDefaultManagedServer_AndSqliteGoesBack()
    {
        var file = TopologyLoader.Load(Write(new JsonObject { ["engine"] = "sqlite", ["path"] = "data/site.db" }));

        var mysql = ManagedDatabase.Choose(file, "mysql");
        Assert.Equal(("mysql", "db-1", "mysql"), (mysql.Database.Engine, mysql.Database.Nodes[0].Name, mysql.DatabaseChoice));
        Assert.Equal(ManagedDatabase.DefaultAddress, mysql.Database.Nodes[0].Address);
        Assert.Contains(mysql.AllNodes, n => n.Role == NodeRole.Database);

        // --db sqlite keeps the file's own SQLite path; over a managed server it is the default file.
        Assert.Equal(Path.Combine(_dir, "data", "site.db"), ManagedDatabase.Choose(file, "sqlite").Database.Path);
        var back = ManagedDatabase.Choose(mysql, "sqlite");
        Assert.Equal((Path.Combine(_dir, ".strata", "foobar.db"), false), (back.Database.Path, back.Database.Managed));
        Assert.DoesNotContain(back.AllNodes, n => n.Role == NodeRole.Database);
    }

    [Fact]
    public void Choose_Mysql_KeepsTheFilesManagedNode()
    {
        var file = TopologyLoader.Load(Write(new JsonObject
        {
            ["engine"] = "mysql",
            ["managed"] = true,
            ["node"] = new JsonObject { ["address"] = "127.0.4.9:13306", ["management"] = "127.0.4.9:18081" },
        }));

        Assert.Equal(IPEndPoint.Parse("127.0.4.9:13306"), ManagedDatabase.Choose(file, "mysql").Database.Nodes[0].Address);
    }

    [Fact]
    public void NetnsLayout_PlacesTheDatabaseNodeAfterTheAppNodes()
    {
        var topology = NetnsLayout.Apply(TopologyLoader.Load(Write(new JsonObject { ["engine"] = "mysql", ["managed"] = true })));

        // dns .10, lb .11 .12, web .13 .14, app .15 .16, db .17; ports as written.
        Assert.Equal(IPEndPoint.Parse("10.201.0.90:3306"), topology.Database.Nodes[0].Address);
        Assert.Equal(IPEndPoint.Parse("10.201.0.90:8081"), topology.Database.Nodes[0].Management);
    }

    private string Write(JsonObject database)
    {
        var json = TestTopology.DefaultJson();
        json["database"] = database;
        return TestTopology.Write(json, _dir);
    }
}
