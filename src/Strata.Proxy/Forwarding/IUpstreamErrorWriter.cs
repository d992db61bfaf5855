using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace Strata.Proxy.Forwarding;

/// <summary>
/// Writes the answer a forwarding node gives itself when it cannot relay one from a server: 503 (no server
/// available or reachable, queue full or timed out), 502 (the server failed to answer), 504 (no answer in time)
/// and 400 (a refused request). Register one to replace the default plain-text answers, e.g. with error pages.
/// </summary>
/// <remarks>
/// The forwarder has already cleared the response and set the status code and <c>X-Served-By</c>; the writer adds
/// the other headers and the body. Runs only on the error path, never for a relayed answer.
/// </remarks>
public interface IUpstreamErrorWriter
{
    /// <summary>Writes the answer for <paramref name="error"/> to <paramref name="context"/>'s response.</summary>
    Task WriteAsync(HttpContext context, UpstreamError error);

    /// <summary>
    /// The same answer as bytes, for a way in that writes its own heads (the connection path): its header lines and body,
    /// chosen by the request's Accept value (<paramref name="accept"/>, empty when none). Null when this writer writes
    /// only to Kestrel's response; the connection path is then off on the node.
    /// </summary>
    ValueTask<ErrorAnswer>? AnswerAsync(UpstreamError error, string accept) => null;

    /// <summary>Whether <see cref="AnswerAsync"/> gives answers (else the connection path is off on the node).</summary>
    bool HasAnswers => false;
}

/// <summary>An error answer as a way in writes it: its own header lines (CRLF after each: no status line, Content-Length or Date) and its body.</summary>
public sealed record ErrorAnswer(byte[] HeaderLines, byte[] Body);

/// <summary>An answer the forwarder gives itself.</summary>
/// <param name="Status">The status code, already set on the response.</param>
/// <param name="Detail">What went wrong, one short sentence without a final period, e.g. "no app server is available".</param>
public readonly record struct UpstreamError(int Status, string Detail)
{
    /// <summary>The plain-text answer, e.g. <c>503 Service Unavailable: no app server is available</c> and a newline.</summary>
    public string ToPlainText() => $"{Status} {ReasonPhrases.GetReasonPhrase(Status)}: {Detail}\n";
}

/// <summary>The default: <c>503 Service Unavailable: DETAIL</c> as text/plain, and <c>Retry-After: 1</c> on a 503.</summary>
internal sealed class PlainTextUpstreamErrorWriter : IUpstreamErrorWriter
{
    public static readonly PlainTextUpstreamErrorWriter Instance = new();

    public Task WriteAsync(HttpContext context, UpstreamError error)
    {
        var response = context.Response;
        response.ContentType = "text/plain; charset=utf-8";
        if (error.Status == StatusCodes.Status503ServiceUnavailable)
        {
            response.Headers.RetryAfter = "1";
        }

        // With its length (as the connection path writes it), which the request log then reads.
        var body = System.Text.Encoding.UTF8.GetBytes(error.ToPlainText());
        response.ContentLength = body.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(body).AsTask();
    }
}
