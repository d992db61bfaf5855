using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Strata.App.Diagnostics;

/// <summary>Marks every response with the node that produced it, so a client behind the proxies can tell.</summary>
internal static class ServedByExtensions
{
    public const string HeaderName = "X-Served-By";

    /// <summary>Register first: the header is added as headers go out, so it survives the exception handler clearing them.</summary>
    public static IApplicationBuilder UseServedBy(this IApplicationBuilder app, string nodeName)
    {
        // One callback for every request, given the response as its state: nothing allocated per request for it.
        var value = new StringValues(nodeName);
        Func<object, Task> addHeader = state =>
        {
            ((HttpResponse)state).Headers[HeaderName] = value;
            return Task.CompletedTask;
        };
        return app.Use(next => context =>
        {
            context.Response.OnStarting(addHeader, context.Response);
            return next(context);
        });
    }
}
