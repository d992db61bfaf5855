using System.Net;
using Strata.Tests.Common;
using Strata.Tests.Data;
using Strata.Topology;

namespace Strata.Tests.App.Bench;

/// <summary>A benchmark request whose database fails answers as every other app request does: 503 with Retry-After.</summary>
public sealed class BenchDatabaseFailureTests
{
    [Theory]
    [InlineData("/bench/db")]
    [InlineData("/bench/queries?queries=5")]
    [InlineData("/bench/fortunes")]
    [InlineData("/bench/updates?queries=5")]
    public async Task Get_TablesGone_Answers503WithRetryAfter(string path)
    {
        using var database = new TempDatabase();
        var node = TestTopology.Node("app-1", NodeRole.App);
        await using var host = await AppTestHost.StartAsync(TestTopology.Create(appNodes: [node], webRoot: database.Directory, databasePath: database.Path) with { BenchmarkEndpoints = true }, node);
        using (var connection = database.OpenConnection())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "DROP TABLE World; DROP TABLE Fortune;";
            command.ExecuteNonQuery();
        }

        using var response = await host.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("5", Assert.Single(response.Headers.GetValues("Retry-After")));
    }
}
