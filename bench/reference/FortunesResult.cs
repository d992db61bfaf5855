using System.Net;
using System.Text;

namespace Reference;

/// <summary>
/// The fortunes page, byte for byte Strata's (the same escaping: WebUtility.HtmlEncode), built in a per-thread
/// StringBuilder (the Platform entry's StringBuilderCache) and encoded straight into Kestrel's response buffer with a
/// Content-Length.
/// </summary>
internal sealed class FortunesResult(List<Fortune> fortunes) : IResult
{
    [ThreadStatic]
    private static StringBuilder? t_html;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        var html = t_html ??= new StringBuilder(2048);
        html.Clear().Append("<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th><th>message</th></tr>");
        foreach (var fortune in fortunes)
        {
            html.Append("<tr><td>").Append(fortune.Id).Append("</td><td>").Append(WebUtility.HtmlEncode(fortune.Message)).Append("</td></tr>");
        }

        html.Append("</table></body></html>");
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/html; charset=utf-8";
        var length = 0;
        foreach (var chunk in html.GetChunks())
        {
            length += Encoding.UTF8.GetByteCount(chunk.Span);
        }

        response.ContentLength = length;
        var body = response.BodyWriter;
        foreach (var chunk in html.GetChunks())
        {
            Encoding.UTF8.GetBytes(chunk.Span, body);
        }

        return body.FlushAsync().AsTask();
    }
}
