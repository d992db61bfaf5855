using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Strata.Hosting.Admin;
using Strata.Proxy.Upstreams;

namespace Strata.Proxy.Admin;

/// <summary>
/// The admin routes under <c>/admin</c>. With no token configured every one answers 404 (the API is off);
/// otherwise each needs <c>Authorization: Bearer TOKEN</c>, else 401 with <c>WWW-Authenticate: Bearer</c>.
/// </summary>
internal static class AdminEndpoints
{
    public const string Prefix = "/admin";

    public static RouteGroupBuilder MapProxyAdmin(this IEndpointRouteBuilder endpoints, AdminToken? token)
    {
        var group = endpoints.MapGroup(Prefix);
        group.AddEndpointFilter(async (context, next) =>
        {
            if (token is null)
            {
                return Results.Problem(
                    statusCode: StatusCodes.Status404NotFound,
                    title: "Admin API off",
                    detail: "the admin API is off: no admin.token in the topology and no STRATA_ADMIN_TOKEN in the environment");
            }

            if (!token.Matches(context.HttpContext.Request.Headers.Authorization))
            {
                context.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
                return Results.Problem(
                    statusCode: StatusCodes.Status401Unauthorized,
                    title: "Unauthorized",
                    detail: "the admin API needs 'Authorization: Bearer TOKEN' with the run's admin token");
            }

            return await next(context);
        });

        var api = endpoints.ServiceProvider.GetRequiredService<AdminApi>();
        group.MapGet("/servers", api.Servers);
        group.MapPut("/servers/{name}/weight", api.SetWeightAsync);
        group.MapPost("/servers/{name}/drain", (string name) => api.SetState(name, AdminState.Drain));
        group.MapPost("/servers/{name}/maintenance", (string name) => api.SetState(name, AdminState.Maintenance));
        group.MapPost("/servers/{name}/ready", (string name) => api.SetState(name, AdminState.Ready));
        return group;
    }
}
