using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
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

        // The client's address and scheme as the proxies in front wrote them (X-Forwarded-For/-Proto), read right to
        // left while each hop is one of them (nginx's real_ip_recursive): a request that came over HTTPS is HTTPS here
        // (the antiforgery cookie is then Secure), and a client's own claims count only from a trusted proxy. Nothing
        // else is known, not even loopback (ASP.NET's default): on one machine a client is on loopback too. With none
        // known ASP.NET would believe anyone, so then nothing is read.
        var proxies = topology.ProxiesInFront(NodeRole.App).Networks;
        builder.Services.Configure<ForwardedHeadersOptions>(options =>
        {
            options.ForwardedHeaders = proxies.IsEmpty ? ForwardedHeaders.None : ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            options.ForwardLimit = null;
            options.KnownProxies.Clear();
            options.KnownIPNetworks.Clear();
#pragma warning disable ASPDEPR005 // Obsolete, but still consulted: it holds loopback by default too.
            options.KnownNetworks.Clear();
#pragma warning restore ASPDEPR005
            foreach (var proxy in proxies)
            {
                options.KnownIPNetworks.Add(proxy);
            }
        });

        var app = builder.Build();
        // Now, before the database is first opened: the pool's metrics count its connections as they come and go.
        app.Services.GetRequiredService<DatabaseMetrics>();
        app.UseServedRequestMetrics();
        app.UseForwardedHeaders();
        app.UseServedBy(node.Name);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapManagement();
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
