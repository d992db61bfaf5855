using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Strata.Hosting;

namespace Strata.Orchestration.Dashboard;

/// <summary>
/// The dashboard's web server (docs/dashboard.md): the page and its files from the binary, and the API under
/// <c>/api/</c>, on one loopback address. Its lifetime is its owner's: a foreground <c>up</c>, or the process of
/// <c>strata dashboard</c> that <c>up --detach</c> starts. Every answer carries a strict Content-Security-Policy (the
/// page has no inline script or style) and is refused unless its Host is the dashboard's own address or localhost
/// (another site's page, its name pointed at 127.0.0.1 by DNS rebinding, reads nothing).
/// </summary>
internal sealed class DashboardServer : IAsyncDisposable
{
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private readonly WebApplication _app;
    private readonly DashboardMonitor _monitor;

    private DashboardServer(WebApplication app, DashboardMonitor monitor, string url)
    {
        _app = app;
        _monitor = monitor;
        Url = url;
    }

    /// <summary>Where to open it.</summary>
    public string Url { get; }

    /// <summary>Starts it on <paramref name="address"/>; the actions taken from the page are written to <paramref name="output"/>.</summary>
    /// <exception cref="IOException">The address cannot be bound (Kestrel's "address already in use").</exception>
    public static async Task<DashboardServer> StartAsync(DashboardRun run, IPEndPoint address, TextWriter output)
    {
        NodeHost.RefuseBareLineFeeds();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = "strata-dashboard",
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(address);
            kestrel.Limits.MaxRequestBodySize = 4096;
        });
        NodeHost.ConfigureLogging(builder.Logging);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        // Stopped by its owner, not by the signals a console app's host listens to: a foreground 'up' handles Ctrl+C itself.
        builder.Services.AddSingleton<IHostLifetime, OwnedLifetime>();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        builder.Services.AddHostFiltering(o => o.AllowedHosts = [address.Address.ToString(), "localhost"]);

        var app = builder.Build();
        var monitor = new DashboardMonitor(run, TimeProvider.System);
        var actions = new DashboardActions(run, output, app.Lifetime.ApplicationStopping);
        app.UseHostFiltering();
        app.Use((context, next) =>
        {
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            return next(context);
        });
        // Every action needs the token, checked before anything of the request is read.
        app.Use(async (context, next) =>
        {
            if (HttpMethods.IsPost(context.Request.Method) && actions.Refusal(context) is { } refusal)
            {
                await refusal.ExecuteAsync(context);
                return;
            }

            await next(context);
        });
        DashboardAssets.Map(app);
        DashboardEndpoints.Map(app, run, monitor, actions);

        try
        {
            await monitor.StartAsync();
            await app.StartAsync();
        }
        catch
        {
            await monitor.DisposeAsync();
            await app.DisposeAsync();
            throw;
        }

        return new DashboardServer(app, monitor, $"http://{address}/");
    }

    /// <summary>Whether a dashboard answers at <paramref name="address"/> within <paramref name="timeout"/>; false at once when <paramref name="gone"/> says its process exited.</summary>
    public static async Task<bool> AnswersAsync(IPEndPoint address, TimeSpan timeout, Func<bool> gone)
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && !gone())
        {
            try
            {
                using var response = await client.GetAsync(new Uri($"http://{address}{DashboardEndpoints.HealthPath}"));
                if (response.IsSuccessStatusCode)
                {
                    return true;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        // The event streams end first, so stopping the server waits for no open page.
        await _monitor.DisposeAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class OwnedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
