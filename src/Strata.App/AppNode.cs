using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Strata.App.Bench;
using Strata.App.Database;
using Strata.App.Diagnostics;
using Strata.App.Guestbook;
using Strata.App.Pages;
using Strata.Data.Messages;
using Strata.Data;
using Strata.Data.Bench;
using Strata.Hosting;
using Strata.Hosting.Metrics;
using Strata.Hosting.Telemetry;
using Strata.Topology;
using TopologyModel = Strata.Topology.Topology;

namespace Strata.App;

/// <summary>
/// The foobar.com application node: the home page and the guestbook API over the topology's database, with
/// /healthz and /readyz (ready while the database answers) on the node's own address.
/// </summary>
public static class AppNode
{
    /// <summary>
    /// Builds (does not start) the node. Starting it creates the database schema if needed before Kestrel listens;
    /// if the database cannot be initialized, starting fails.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="node"/> is not one of the topology's app nodes.</exception>
    /// <exception cref="NotSupportedException">The topology's database engine is unknown.</exception>
    public static WebApplication Build(TopologyModel topology, NodeSpec node)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(node);
        if (node.Role != NodeRole.App || !topology.AllAppNodes.Contains(node))
        {
            throw new ArgumentException($"Node '{node.Name}' is not an app node of this topology.", nameof(node));
        }

        var builder = NodeHost.CreateBuilder(topology, node);
        builder.Services.AddSingleton(topology);
        builder.Services.AddSingleton(services =>
        {
            var store = MessageStores.Create(topology.Database, services.GetRequiredService<TimeProvider>());
            return NodeTracing.IsOn(topology.Telemetry) ? new TracedMessageStore(store, topology.Database.Engine) : store;
        });
        builder.Services.AddSingleton(services => new DatabaseMetrics(services.Metrics(), mysql: topology.Database.Engine == MessageStores.MySql));
        if (topology.BenchmarkEndpoints)
        {
            builder.Services.AddSingleton(_ => WorldStores.Create(topology.Database));
        }

        builder.Services.AddSingleton<IReadinessCheck, DatabaseReadinessCheck>();
        builder.Services.AddHostedService<AppNodeLifecycle>();
        builder.Services.AddProblemDetails();
        // Secure when the client came over HTTPS (the antiforgery cookie's own default is never). No X-Frame-Options:
        // SAMEORIGIN here; the web tier frames no page at all (web.securityHeaders), and the app's would win there.
        builder.Services.AddAntiforgery(options =>
        {
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.SuppressXFrameOptionsHeader = true;
        });
        // One key ring for every app node, so a form rendered by app-1 can be posted to app-2: on one machine the run
        // folder beside strata.json; on several hosts that folder must be shared (documented in docs/own-app.md).
        builder.Services.AddDataProtection()
            .SetApplicationName("strata-" + topology.Zone.Zone)
            .PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(Path.GetDirectoryName(topology.SourcePath) ?? ".", ".strata", "keys")));
        builder.Services.AddExceptionHandler<DatabaseExceptionHandler>();
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, GuestbookJsonContext.Default));

        // Whose X-Forwarded-For/-Proto the app believes: the proxies in front, again on each reload (a tier scaled).
        builder.Services.AddSingleton(sp => new ForwardedClients(topology, sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddSingleton<ITopologyReloadTarget>(sp => sp.GetRequiredService<ForwardedClients>());
        builder.Services.AddTopologyReload(topology);

        var app = builder.Build();
        // Now, before the database is first opened: the pool's metrics count its connections as they come and go.
        app.Services.GetRequiredService<DatabaseMetrics>();
        app.UseServedRequestMetrics();
        app.Use(app.Services.GetRequiredService<ForwardedClients>().Middleware);
        app.UseServedBy(node.Name);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapManagement().MapDatabaseVoting(topology, node);
        app.MapHomePage(siteName: topology.Zone.Zone);
        app.MapGuestbookApi();
        app.MapClientEndpoint();
        if (topology.BenchmarkEndpoints)
        {
            app.MapBenchEndpoints();
        }

        return app;
    }
}
