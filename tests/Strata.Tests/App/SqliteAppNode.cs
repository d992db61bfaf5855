using Strata.Tests.Common;
using Strata.Tests.Data;
using Strata.Topology;

namespace Strata.Tests.App;

/// <summary>One real app node on a fresh SQLite database: per test (AppNodeTests) or shared by a class as a fixture (BenchEndpointsTests).</summary>
public class SqliteAppNode : IAsyncLifetime
{
    public NodeSpec Node { get; } = TestTopology.Node("app-1", NodeRole.App);
    private AppTestHost? _host;

    public TempDatabase Database { get; } = new();

    public HttpClient Client => _host!.Client;

    public async Task InitializeAsync()
    {
        _host = await AppTestHost.StartAsync(TestTopology.Create(appNodes: [Node], webRoot: Database.Directory, databasePath: Database.Path) with { BenchmarkEndpoints = BenchmarkEndpoints }, Node);
    }

    /// <summary>Whether the node serves the TechEmpower benchmarks (app.benchmarkEndpoints; off by default).</summary>
    protected virtual bool BenchmarkEndpoints => false;

    public async Task DisposeAsync()
    {
        try
        {
            if (_host is not null)
            {
                await _host.DisposeAsync();
            }
        }
        finally
        {
            Database.Dispose();
        }
    }
}

/// <summary>An app node with the TechEmpower benchmark endpoints on, as the benchmark harness runs it.</summary>
public sealed class SqliteBenchAppNode : SqliteAppNode
{
    protected override bool BenchmarkEndpoints => true;
}
