using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Strata.Topology;

namespace Strata.Web.Security;

/// <summary>
/// The site's security headers (<see cref="WebSpec.SecurityHeaders"/>: Content-Security-Policy, Referrer-Policy,
/// X-Frame-Options, X-Content-Type-Options) on every answer of a web node — files, forwarded pages, error pages, rule
/// answers — as nginx's <c>add_header … always</c> in the server block; a header the app already set is left as the
/// app set it, never doubled.
/// </summary>
public static class SecurityHeadersExtensions
{
    /// <summary>Register first, so that every answer, whoever writes it, gets them as its headers go out.</summary>
    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app, WebSpec web)
    {
        if (web.SecurityHeaders.IsEmpty)
        {
            return app;
        }

        var headers = web.SecurityHeaders.Select(h => (h.Name, Value: new StringValues(h.Value))).ToArray();
        Func<object, Task> addMissing = state =>
        {
            var response = (HttpResponse)state;
            foreach (var (name, value) in headers)
            {
                response.Headers.TryAdd(name, value);
            }

            return Task.CompletedTask;
        };
        return app.Use((context, next) =>
        {
            context.Response.OnStarting(addMissing, context.Response);
            return next(context);
        });
    }
}
