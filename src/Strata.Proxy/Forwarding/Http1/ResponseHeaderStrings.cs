using System.Text;
using Microsoft.Net.Http.Headers;

namespace Strata.Proxy.Forwarding.Http1;

/// <summary>
/// Turns a response header's bytes into the strings Kestrel's header dictionary takes, without allocating for the
/// common case: well-known names map to their constant, and each connection remembers the last value it saw for
/// each well-known name (a server answers the same Content-Type, Server, Cache-Control... again and again).
/// </summary>
internal sealed class ResponseHeaderStrings
{
    private static readonly string[] KnownNames =
    [
        HeaderNames.ContentType, HeaderNames.Server, HeaderNames.Date, UpstreamForwarder.ServedByHeader, HeaderNames.Via,
        HeaderNames.CacheControl, HeaderNames.ETag, HeaderNames.LastModified, HeaderNames.AcceptRanges, HeaderNames.Vary,
        HeaderNames.ContentEncoding, HeaderNames.SetCookie, HeaderNames.Location, HeaderNames.Expires, HeaderNames.RetryAfter,
        HeaderNames.XContentTypeOptions, HeaderNames.ContentRange, HeaderNames.ContentDisposition, HeaderNames.ContentLanguage,
        HeaderNames.StrictTransportSecurity, HeaderNames.Age, HeaderNames.Allow, HeaderNames.XFrameOptions, "Referrer-Policy",
        HeaderNames.ContentSecurityPolicy, HeaderNames.WWWAuthenticate, HeaderNames.Pragma, HeaderNames.Link,
    ];

    private static readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> Index =
        KnownNames.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i, StringComparer.OrdinalIgnoreCase)
            .GetAlternateLookup<ReadOnlySpan<char>>();

    private readonly string?[] _lastValues = new string?[KnownNames.Length];

    /// <summary>The header's name and value as strings.</summary>
    public (string Name, string Value) Get(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        Span<char> chars = stackalloc char[64];
        if (name.Length > chars.Length || !Index.TryGetValue(Latin1(name, chars), out var known))
        {
            return (Encoding.Latin1.GetString(name), Encoding.Latin1.GetString(value));
        }

        var last = _lastValues[known];
        if (last is null || !Ascii.Equals(value, last))
        {
            last = _lastValues[known] = Encoding.Latin1.GetString(value);
        }

        return (KnownNames[known], last);
    }

    private static ReadOnlySpan<char> Latin1(ReadOnlySpan<byte> bytes, Span<char> chars)
    {
        var length = Encoding.Latin1.GetChars(bytes, chars);
        return chars[..length];
    }
}
