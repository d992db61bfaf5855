using Strata.Tests.Common;
using Strata.Tests.Data;
using Strata.Topology;

namespace Strata.Tests.App.Bench;

/// <summary>One real app node on a fresh SQLite database, shared by a test class (its tests run one after another).</summary>
public sealed class BenchNodeFixture : IAsyncLifetime
{
    private readonly NodeSpec _node = TestTopology.Node("app-1", NodeRole.App);
    private AppTestHost? _host;

    public TempDatabase Database { get; } = new();

    public HttpClient Client => _host!.Client;

    public async Task InitializeAsync()
    {
        _host = await AppTestHost.StartAsync(TestTopology.Create(appNodes: [_node], webRoot: Database.Directory, databasePath: Database.Path), _node);
    }

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
