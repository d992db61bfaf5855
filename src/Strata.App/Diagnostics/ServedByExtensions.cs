using Microsoft.AspNetCore.Builder;

namespace Strata.App.Diagnostics;

/// <summary>Marks every response with the node that produced it, so a client behind the proxies can tell.</summary>
internal static class ServedByExtensions
{
    public const string HeaderName = "X-Served-By";

    /// <summary>Register first: the header is added as headers go out, so it survives the exception handler clearing them.</summary>
    public static IApplicationBuilder UseServedBy(this IApplicationBuilder app, string nodeName) =>
        app.Use((context, next) =>
        {
            var response = context.Response;
            response.OnStarting(() =>
            {
                response.Headers[HeaderName] = nodeName;
                return Task.CompletedTask;
            });
            return next(context);
        });
}
