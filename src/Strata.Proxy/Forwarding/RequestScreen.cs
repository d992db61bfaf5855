using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Strata.Proxy.Forwarding;

/// <summary>
/// What a forwarding node refuses of a client's request before it chooses a server: requests it could not forward
/// as they are, or that a server behind could read another way. A refusal is the client's fault (HAProxy's
/// termination state <c>PR</c>): answered at once, the connection closed, and never counted against a server.
/// </summary>
/// <remarks>
/// <para>Kestrel has already refused what breaks HTTP/1.1's grammar (a header name that is not a token, NUL, a bare
/// CR, invalid UTF-8, a bare LF line ending: <see cref="Hosting.NodeHost"/>); these are the rules on top of it:</para>
/// <list type="bullet">
/// <item><c>CONNECT</c>: 501, Strata is not a forward proxy (HAProxy 2.6 and nginx 1.22 answer 400).</item>
/// <item>Both Transfer-Encoding and Content-Length: 400 (RFC 9112 §6.3: a smuggling attempt or a broken client;
/// Kestrel keeps the request, moving Content-Length to X-Content-Length).</item>
/// <item>A Connection option that is not a token, or that names Content-Length, Transfer-Encoding or Host: 400.
/// Naming a framing header "hop-by-hop" asks the proxy to strip the body's length or the target's host on the way,
/// a known way to make two hops read one request differently. Other named headers are removed (RFC 9110 §7.6.1).</item>
/// <item>A header value holding a control character other than HTAB, or DEL: 400 (HAProxy 2.6 and nginx 1.22 pass
/// them on; an application behind that is not on Kestrel may read them differently). Non-ASCII text is kept and
/// sent on as the same UTF-8 bytes (HAProxy and nginx pass such bytes too).</item>
/// </list>
/// </remarks>
internal static class RequestScreen
{
    /// <summary>C0 controls but HTAB, and DEL (RFC 9110 §5.5: a value is field-vchar, obs-text, SP and HTAB only).</summary>
    internal static readonly SearchValues<char> ForbiddenInValue = SearchValues.Create(
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000A\u000B\u000C\u000D\u000E\u000F"
        + "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F\u007F");

    // tchar (RFC 9110 §5.6.2).
    private static readonly SearchValues<char> TokenCharacters = SearchValues.Create(
        "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    /// <summary>Why the request must not be forwarded, or null when it may.</summary>
    public static Refusal? Check(HttpRequest request)
    {
        if (HttpMethods.IsConnect(request.Method))
        {
            return new(StatusCodes.Status501NotImplemented, "CONNECT is not supported");
        }

        var headers = request.Headers;
        if (headers.ContainsKey(HeaderNames.TransferEncoding)
            && (headers.ContainsKey(HeaderNames.ContentLength) || headers.ContainsKey("X-Content-Length")))
        {
            return new(StatusCodes.Status400BadRequest, "both Content-Length and Transfer-Encoding");
        }

        if (headers.Connection is { Count: > 0 } connection && CheckConnection(connection) is { } refusal)
        {
            return refusal;
        }

        foreach (var (name, values) in headers)
        {
            foreach (var value in values)
            {
                if (value is not null && value.AsSpan().IndexOfAny(ForbiddenInValue) >= 0)
                {
                    return new(StatusCodes.Status400BadRequest, $"the header {name} holds a control character");
                }
            }
        }

        return null;
    }

    private static Refusal? CheckConnection(StringValues connection)
    {
        foreach (var value in connection)
        {
            var text = value.AsSpan();
            foreach (var range in text.Split(','))
            {
                var option = text[range].Trim(" \t");
                if (option.IsEmpty)
                {
                    continue;
                }

                if (option.IndexOfAnyExcept(TokenCharacters) >= 0)
                {
                    return new(StatusCodes.Status400BadRequest, "a Connection option is not a header name");
                }

                if (option.Equals(HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase)
                    || option.Equals(HeaderNames.TransferEncoding, StringComparison.OrdinalIgnoreCase)
                    || option.Equals(HeaderNames.Host, StringComparison.OrdinalIgnoreCase))
                {
                    return new(StatusCodes.Status400BadRequest, $"Connection names {option}, which a proxy may not remove");
                }
            }
        }

        return null;
    }

    /// <summary>A refused request: the status to answer and what was wrong, one short sentence without a final period.</summary>
    internal readonly record struct Refusal(int Status, string Detail);
}
