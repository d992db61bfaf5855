using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Strata.Proxy.Forwarding;
using Strata.Topology;

namespace Strata.Web.Errors;

/// <summary>
/// The web node's answers when the app tier cannot answer (nginx's <c>error_page 500 502 503 504 /50x.html</c>):
/// the configured error page from the web root (an exact code first, then "50x"), else a small built-in HTML page;
/// or an RFC 9457 problem document when the client prefers JSON. Never cached; a 503 carries
/// <c>Retry-After: <see cref="RetryAfterSeconds"/></c>.
/// </summary>
/// <remarks>
/// The page file is read on each error (it is small, errors are rare and an edit shows at once); a missing or
/// unreadable page falls back to the built-in one. Answers below 500 (a refused request) stay plain text.
/// </remarks>
internal sealed class ErrorPageWriter(string webRoot, WebSpec web) : IUpstreamErrorWriter
{
    /// <summary>
    /// Seconds a client is asked to wait after a 503: long enough for a restarted app node to pass its health
    /// checks and rejoin, short enough that a person retrying by hand is not kept waiting long.
    /// </summary>
    public const int RetryAfterSeconds = 10;

    /// <summary>The media type of an RFC 9457 problem document.</summary>
    public const string ProblemJson = "application/problem+json";

    private readonly string _root = Path.GetFullPath(webRoot);

    public async Task WriteAsync(HttpContext context, UpstreamError error)
    {
        if (error.Status < 500)
        {
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync(error.ToPlainText());
            return;
        }

        var response = context.Response;
        response.Headers.CacheControl = "no-store";
        if (error.Status == StatusCodes.Status503ServiceUnavailable)
        {
            response.Headers.RetryAfter = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        }

        var title = ReasonPhrases.GetReasonPhrase(error.Status);
        if (PrefersJson(context.Request.Headers.Accept))
        {
            response.ContentType = ProblemJson;
            await JsonSerializer.SerializeAsync(response.Body, new Problem("about:blank", title, error.Status, Capitalize(error.Detail) + "."), ErrorJsonContext.Default.Problem);
            return;
        }

        response.ContentType = "text/html; charset=utf-8";
        if (await ReadPageAsync(error.Status, context.RequestAborted) is { } page)
        {
            await response.Body.WriteAsync(page, context.RequestAborted);
            return;
        }

        await response.WriteAsync(BuiltInPage(error.Status, title), context.RequestAborted);
    }

    /// <summary>
    /// True when Accept ranks application/json or application/problem+json, named explicitly, above text/html or
    /// application/xhtml+xml. Wildcards count for neither, so <c>*/*</c> or no Accept gets HTML and a script's
    /// <c>application/json, */*</c> gets JSON.
    /// </summary>
    internal static bool PrefersJson(StringValues accept)
    {
        if (!MediaTypeHeaderValue.TryParseList(accept, out var types))
        {
            return false;
        }

        double json = 0, html = 0;
        foreach (var type in types)
        {
            var quality = type.Quality ?? 1;
            if (type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
                || type.MediaType.Equals(ProblemJson, StringComparison.OrdinalIgnoreCase))
            {
                json = Math.Max(json, quality);
            }
            else if (type.MediaType.Equals("text/html", StringComparison.OrdinalIgnoreCase)
                || type.MediaType.Equals("application/xhtml+xml", StringComparison.OrdinalIgnoreCase))
            {
                html = Math.Max(html, quality);
            }
        }

        return json > html;
    }

    private async Task<byte[]?> ReadPageAsync(int status, CancellationToken cancellationToken)
    {
        var pages = web.ErrorPages;
        if (!pages.TryGetValue(status.ToString(CultureInfo.InvariantCulture), out var page) && !pages.TryGetValue("50x", out page))
        {
            return null;
        }

        // The validator keeps ".." out; the prefix check is a second lock on the web root.
        var path = Path.GetFullPath(Path.Combine(_root, page.TrimStart('/')));
        if (!path.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            return await File.ReadAllBytesAsync(path, cancellationToken);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string BuiltInPage(int status, string title)
    {
        var message = status switch
        {
            StatusCodes.Status503ServiceUnavailable => "The application is temporarily unavailable. Please try again in a few seconds.",
            StatusCodes.Status504GatewayTimeout => "The application took too long to answer. Please try again in a few seconds.",
            _ => "The application could not answer this request. Please try again in a few seconds.",
        };
        var heading = WebUtility.HtmlEncode($"{status} {title}");
        return $"""
            <!DOCTYPE html>
            <html lang="en">
            <head><meta charset="utf-8"><title>{heading}</title></head>
            <body>
            <h1>{heading}</h1>
            <p>{message}</p>
            </body>
            </html>

            """;
    }

    private static string Capitalize(string text) =>
        text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];
}

/// <summary>An RFC 9457 problem document.</summary>
internal sealed record Problem(string Type, string Title, int Status, string Detail);
