using Microsoft.AspNetCore.Builder;
using Strata.Hosting;
using Strata.Topology;
using TopologyModel = Strata.Topology.Topology;

namespace Strata.Tests.App;

/// <summary>A real app node (Kestrel on 127.0.0.1:0) and a client pointed at the address it bound.</summary>
public sealed class AppTestHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private AppTestHost(WebApplication app, HttpClient client)
    {
        _app = app;
        Client = client;
    }

    public HttpClient Client { get; }

    public static async Task<AppTestHost> StartAsync(TopologyModel topology, NodeSpec node)
    {
        var app = Strata.App.AppNode.Build(topology, node);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var client = new HttpClient
        {
            BaseAddress = app.BoundAddresses().Single(),
            // Generous: a request that hangs must fail the test, not the suite.
            Timeout = TimeSpan.FromSeconds(30),
        };
        return new AppTestHost(app, client);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        try
        {
            await _app.StopAsync();
        }
        finally
        {
            await _app.DisposeAsync();
        }
    }
}
