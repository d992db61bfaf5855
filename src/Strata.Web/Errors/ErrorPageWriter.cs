using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
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
/// An answer is made once per status, kind (page or problem) and detail and reused for a second, then made again with the
/// page file read afresh (it is small, and an edit shows within a second); a missing or unreadable page falls back to the
/// built-in one. Both ways in write the same bytes with their length (<see cref="AnswerAsync"/>). Answers below 500 (a refused request) stay plain text.
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

    /// <summary>How long an answer is reused before its page file is read again: an edit of the page shows within this.</summary>
    private const long RereadMs = 1000;

    // Answers by status, kind and detail (a few: the forwarder's details are a fixed set per pool), read again after RereadMs.
    private readonly ConcurrentDictionary<(int Status, bool Json, string Detail), (long Read, ErrorAnswer Answer)> _answers = new();

    public bool HasAnswers => true;

    public async Task WriteAsync(HttpContext context, UpstreamError error)
    {
        var answer = await AnswerAsync(error, context.Request.Headers.Accept.ToString())!.Value;
        var response = context.Response;
        AppendLines(response.Headers, answer.HeaderLines);
        // With its length, as the connection path writes it (the same bytes): a kept-alive connection survives it.
        response.ContentLength = answer.Body.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await response.Body.WriteAsync(answer.Body, context.RequestAborted);
        }
    }

    /// <summary>The answer's header lines (Cache-Control, Retry-After, Content-Type) and body, as both ways in write them.</summary>
    public ValueTask<ErrorAnswer>? AnswerAsync(UpstreamError error, string accept)
    {
        var json = error.Status >= 500 && PrefersJson(accept);
        var key = (error.Status, json, json || error.Status < 500 ? error.Detail : "");
        return _answers.TryGetValue(key, out var cached) && Environment.TickCount64 - cached.Read < RereadMs
            ? new(cached.Answer)
            : RenderAsync(key, error, json);
    }

    private async ValueTask<ErrorAnswer> RenderAsync((int Status, bool Json, string Detail) key, UpstreamError error, bool json)
    {
        ErrorAnswer answer;
        if (error.Status < 500)
        {
            answer = new("Content-Type: text/plain; charset=utf-8\r\n"u8.ToArray(), Encoding.UTF8.GetBytes(error.ToPlainText()));
        }
        else
        {
            var lines = error.Status == StatusCodes.Status503ServiceUnavailable
                ? $"Cache-Control: no-store\r\nRetry-After: {RetryAfterSeconds.ToString(CultureInfo.InvariantCulture)}\r\n"
                : "Cache-Control: no-store\r\n";
            var title = ReasonPhrases.GetReasonPhrase(error.Status);
            if (json)
            {
                answer = new(Encoding.ASCII.GetBytes(lines + "Content-Type: " + ProblemJson + "\r\n"), JsonSerializer.SerializeToUtf8Bytes(
                    new Problem("about:blank", title, error.Status, Capitalize(error.Detail) + "."), ErrorJsonContext.Default.Problem));
            }
            else
            {
                answer = new(Encoding.ASCII.GetBytes(lines + "Content-Type: text/html; charset=utf-8\r\n"),
                    await ReadPageAsync(error.Status) ?? Encoding.UTF8.GetBytes(BuiltInPage(error.Status, title)));
            }
        }

        _answers[key] = (Environment.TickCount64, answer);
        return answer;
    }

    /// <summary>Sets each "Name: value" line of <paramref name="lines"/> on <paramref name="headers"/>.</summary>
    private static void AppendLines(IHeaderDictionary headers, byte[] lines)
    {
        foreach (var range in lines.AsSpan().Split("\r\n"u8))
        {
            var line = lines.AsSpan(range);
            var colon = line.IndexOf((byte)':');
            if (colon > 0)
            {
                headers[Encoding.ASCII.GetString(line[..colon])] = Encoding.ASCII.GetString(line[(colon + 2)..]);
            }
        }
    }

    /// <summary>
    /// True when Accept ranks application/json or application/problem+json, named explicitly, above text/html or
    /// application/xhtml+xml. Wildcards count for neither, so <c>*/*</c> or no Accept gets HTML and a script's
    /// <c>application/json, */*</c> gets JSON.
    /// </summary>
    internal static bool PrefersJson(StringValues accept)
    {
        if (StringValues.IsNullOrEmpty(accept))
        {
            return false;
        }

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

    private async Task<byte[]?> ReadPageAsync(int status)
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
            return await File.ReadAllBytesAsync(path);
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
