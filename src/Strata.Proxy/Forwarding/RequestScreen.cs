using System.Buffers;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
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
/// CR, invalid UTF-8, a bare LF line ending: <see cref="Hosting.NodeHost"/>; a final transfer coding other than
/// chunked, a Content-Length that is not a number or given twice, a Host that is not a host); these are the rules on
/// top of it, each where Kestrel takes a request that a server behind may read another way (docs/security.md,
/// "Hostile requests"):</para>
/// <list type="bullet">
/// <item><c>CONNECT</c>: 501, Strata is not a forward proxy (HAProxy 2.6 and nginx 1.22 answer 400).</item>
/// <item>A method with a lower-case letter: 400. Methods are case-sensitive, so a route's <c>methods: ["DELETE"]</c>
/// does not match <c>delete</c>, which ASP.NET's routing serves as DELETE (nginx answers 400 too).</item>
/// <item>A control character in the request target, or userinfo in an absolute-form one: 400.</item>
/// <item>Transfer-Encoding on HTTP/1.0 (RFC 9112 §6.1), or chunked twice: 400; any coding but chunked: 501 (RFC 9112
/// §6.1; Kestrel would decode only the chunks and pass the rest on as if it were the body; nginx answers 501 too).</item>
/// <item>Both Transfer-Encoding and Content-Length: 400 (RFC 9112 §6.3: a smuggling attempt or a broken client;
/// Kestrel keeps the request, moving Content-Length to X-Content-Length).</item>
/// <item>A Content-Length over the node's body limit: 413, before any server is tried (the load balancers take the web
/// tier's <c>web.client.maxBodyBytes</c>; a web node answers it ahead of its files too).</item>
/// <item>An empty Host, or a Host port over 65535: 400 (Kestrel takes both; a server behind may read the port modulo
/// 65536).</item>
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

        if (request.Method.AsSpan().IndexOfAnyInRange('a', 'z') >= 0)
        {
            return new(StatusCodes.Status400BadRequest, "the method has a lower-case letter (methods are case-sensitive)");
        }

        if (CheckTarget(request.HttpContext.Features.Get<IHttpRequestFeature>()?.RawTarget) is { } target)
        {
            return target;
        }

        var headers = request.Headers;
        if (headers.TransferEncoding is { Count: > 0 } transferEncoding && CheckTransferEncoding(request.Protocol, transferEncoding) is { } coding)
        {
            return coding;
        }

        if (headers.ContainsKey(HeaderNames.TransferEncoding)
            && (headers.ContainsKey(HeaderNames.ContentLength) || headers.ContainsKey("X-Content-Length")))
        {
            return new(StatusCodes.Status400BadRequest, "both Content-Length and Transfer-Encoding");
        }

        if (request.ContentLength > request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize)
        {
            return new(StatusCodes.Status413PayloadTooLarge, "the body is larger than this node accepts");
        }

        if (headers.Host is { Count: 1 } host && CheckHost(host[0]) is { } badHost)
        {
            return badHost;
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

    private static Refusal? CheckTarget(string? target)
    {
        if (target.AsSpan().IndexOfAny(ForbiddenInValue) >= 0)
        {
            return new(StatusCodes.Status400BadRequest, "the request target holds a control character");
        }

        // Absolute form (scheme "://" authority path): userinfo is deprecated (RFC 9110 §4.2.4) and names a host to some readers.
        var scheme = target.AsSpan().IndexOf("://", StringComparison.Ordinal);
        if (scheme > 0 && target![0] != '/')
        {
            var authority = target.AsSpan(scheme + 3);
            var end = authority.IndexOfAny('/', '?', '#');
            if ((end < 0 ? authority : authority[..end]).Contains('@'))
            {
                return new(StatusCodes.Status400BadRequest, "the request target holds userinfo");
            }
        }

        return null;
    }

    private static Refusal? CheckTransferEncoding(string protocol, StringValues transferEncoding)
    {
        if (HttpProtocol.IsHttp10(protocol))
        {
            return new(StatusCodes.Status400BadRequest, "Transfer-Encoding on an HTTP/1.0 request");
        }

        var (chunked, other) = (0, 0);
        foreach (var value in transferEncoding)
        {
            var text = value.AsSpan();
            foreach (var range in text.Split(','))
            {
                var coding = text[range].Trim(" \t");
                if (coding.Equals("chunked", StringComparison.OrdinalIgnoreCase))
                {
                    chunked++;
                }
                else if (!coding.IsEmpty)
                {
                    other++;
                }
            }
        }

        return other > 0 ? new(StatusCodes.Status501NotImplemented, "a transfer coding other than chunked")
            : chunked > 1 ? new(StatusCodes.Status400BadRequest, "chunked more than once in Transfer-Encoding")
            : null;
    }

    private static Refusal? CheckHost(string? host)
    {
        if (string.IsNullOrEmpty(host))
        {
            return new(StatusCodes.Status400BadRequest, "an empty Host");
        }

        // Kestrel has checked the characters: a port is digits after the last colon (after the ']' of an IPv6 address).
        var colon = host.LastIndexOf(':');
        return colon >= 0 && colon > host.LastIndexOf(']') && colon < host.Length - 1
            && !(int.TryParse(host.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535)
            ? new(StatusCodes.Status400BadRequest, "the Host's port is over 65535")
            : null;
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
