using System.Collections.Immutable;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Strata.App.External;
using Strata.Hosting;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.App;

/// <summary>A real app node in command mode (Kestrel on 127.0.0.1:0) running a real child process.</summary>
internal sealed class ExternalAppTestHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ExternalAppTestHost(string name, WebApplication app)
    {
        Name = name;
        _app = app;
        Url = app.BoundAddresses().Single();
        Client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(30) };
    }

    public string Name { get; }

    public Uri Url { get; }

    public HttpClient Client { get; }

    public AppProcessSupervisor Supervisor => _app.Services.GetRequiredService<AppProcessSupervisor>();

    /// <summary>The repository's examples/python-app, run with python3.</summary>
    public static AppCommandSpec PythonExample()
    {
        var directory = Path.Combine(TestTopology.RepositoryRoot, "examples", "python-app");
        return new AppCommandSpec(["python3", Path.Combine(directory, "app.py")], "/healthz", directory, ImmutableDictionary<string, string>.Empty);
    }

    public static async Task<ExternalAppTestHost> StartAsync(string name, AppCommandSpec command)
    {
        var node = TestTopology.Node(name, NodeRole.App);
        var topology = TestTopology.Create(appNodes: [node]) with { AppCommand = command };
        var app = ExternalAppNode.Build(topology, node);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return new ExternalAppTestHost(name, app);
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
