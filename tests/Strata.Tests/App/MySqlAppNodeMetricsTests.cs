using System.Net;
using Strata.Tests.Common;
using Strata.Tests.Data;
using Strata.Topology;
using Xunit.Abstractions;

namespace Strata.Tests.App;

/// <summary>An app node on MySQL (the test run's own MariaDB): its connection pool in /metrics, from MySqlConnector's meter.</summary>
public sealed class MySqlAppNodeMetricsTests(MariaDbServer server, ITestOutputHelper output) : IClassFixture<MariaDbServer>
{
    [SkippableFact]
    public async Task Metrics_MySql_TheConnectionPoolLabelledWithNodeAndTier()
    {
        server.Check(output);
        var node = TestTopology.Node("app-1", NodeRole.App);
        var topology = TestTopology.Create(appNodes: [node]) with
        {
            Database = MariaDbTestDatabases.Spec(server.ConnectionString(await server.CreateDatabaseAsync())),
        };
        await using var host = await AppTestHost.StartAsync(topology, node);

        for (var i = 0; i < 3; i++)
        {
            using var home = await host.Client.GetAsync("/");
            Assert.Equal(HttpStatusCode.OK, home.StatusCode);
        }

        var text = await host.Client.GetStringAsync("/metrics");

        MetricsText.AssertEveryLabelled(text, "app-1", "app");
        // Every MySqlConnector pool of this process is counted (other test classes' too): the series are there, with sane values.
        Assert.Contains("strata_db_pool_connections{state=\"idle\"", text, StringComparison.Ordinal);
        Assert.Contains("strata_db_pool_connections{state=\"used\"", text, StringComparison.Ordinal);
        Assert.True(MetricsText.Value(text, "strata_db_pool_max_connections") > 0, text);
        Assert.Equal(3, MetricsText.Value(text, "strata_http_requests_total{code=\"2xx\""));
    }
}
