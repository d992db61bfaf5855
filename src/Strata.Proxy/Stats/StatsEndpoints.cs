using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Strata.Proxy.Stats;

/// <summary><c>GET /stats</c>: the HTML page; <c>GET /stats?format=json</c>: the same report as JSON. No token needed.</summary>
internal static class StatsEndpoints
{
    public const string Path = "/stats";

    public static IEndpointConventionBuilder MapProxyStats(this IEndpointRouteBuilder endpoints)
    {
        var reporter = endpoints.ServiceProvider.GetRequiredService<StatsReporter>();
        return endpoints.MapGet(Path, (string? format) =>
        {
            var report = reporter.Report();
            return string.Equals(format, "json", StringComparison.OrdinalIgnoreCase)
                ? Results.Json(report, ProxyJsonContext.Default.StatsReport)
                : Results.Content(StatsPage.Render(report), "text/html; charset=utf-8");
        });
    }
}
