using System.Buffers;
using Strata.Proxy.Forwarding;
using Strata.Proxy.Forwarding.Http1;

namespace Strata.Proxy.Clients.Connections;

/// <summary>
/// A client's request head parsed in place for <see cref="ConnectionForwarder"/>, which serves only the plainest
/// requests itself: <c>GET</c> or <c>HEAD</c> of an origin-form target over HTTP/1.1 in a request line up to 8 KiB,
/// one Host naming a host by name or IPv4 address (a port up to 65535), no body, no upgrade or expectation, no
/// Connection option but <c>close</c> or <c>keep-alive</c>, only visible ASCII. Anything else is not refused here but
/// left to Kestrel (<see cref="TryParse"/> returns false), whose parser and <see cref="RequestScreen"/> answer it.
/// </summary>
internal sealed class RequestHead
{
    /// <summary>Larger heads are left to Kestrel, which applies its own limits.</summary>
    public const int MaxLength = 16 * 1024;

    // Kestrel's default MaxRequestHeaderCount.
    private const int MaxHeaders = 100;

    // Kestrel's default MaxRequestLineSize (and web.client.maxRequestLineBytes'): a longer line is Kestrel's to answer (414).
    private const int MaxRequestLine = 8 * 1024;

    private Line[] _copied = new Line[24];
    private int _copiedCount;

    /// <summary>"GET" or "HEAD".</summary>
    public string Method { get; private set; } = "GET";

    /// <summary>The request line, CRLF included.</summary>
    public Line RequestLine { get; private set; }

    /// <summary>The head's length, blank line included.</summary>
    public int Length { get; private set; }

    /// <summary>The request-target (origin form: path and query).</summary>
    public Line Target { get; private set; }

    /// <summary>Whether the target's path needs no decoding to be matched: no '%' and no dot segment.</summary>
    public bool PlainPath { get; private set; }

    /// <summary>The Host header line, CRLF included.</summary>
    public Line HostLine { get; private set; }

    /// <summary>The Host header's value.</summary>
    public Line Host { get; private set; }

    /// <summary>The client's Via value, if any (Length 0 when none).</summary>
    public Line Via { get; private set; }

    /// <summary>The client's X-Forwarded-For value, if any.</summary>
    public Line ForwardedFor { get; private set; }

    /// <summary>The client's traceparent value, if any (Length 0 when none).</summary>
    public Line TraceParent { get; private set; }

    /// <summary>The client's tracestate value, if any.</summary>
    public Line TraceState { get; private set; }

    /// <summary>Whether the client sent either trace context header (copied with the others, unless the node traces).</summary>
    public bool HasTraceContext => TraceParent.Length != 0 || TraceState.Length != 0;

    /// <summary>The Referer value, if any (Length 0 when none): the web node's access log.</summary>
    public Line Referer { get; private set; }

    /// <summary>The User-Agent value, if any: the web node's access log.</summary>
    public Line UserAgent { get; private set; }

    /// <summary>The Accept-Encoding value, if any (the web node leaves a negotiable file to Kestrel when there is one).</summary>
    public Line AcceptEncoding { get; private set; }

    /// <summary>The Accept value, if any (Length 0 when none): the web node's error answers are chosen by it.</summary>
    public Line Accept { get; private set; }

    /// <summary>Whether Accept came in more than one line (then <see cref="Accept"/> is the first; the others are read again when needed).</summary>
    public bool AcceptRepeated { get; private set; }

    /// <summary>Whether the request is conditional (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since, If-Range) or asks for a Range: files then go to Kestrel.</summary>
    public bool Conditional { get; private set; }

    /// <summary>The path's length in <see cref="Target"/> (up to its query).</summary>
    public int PathLength { get; private set; }

    public bool HasForwardedProto { get; private set; }

    public bool HasForwardedHost { get; private set; }

    /// <summary>Whether the client asked to close the connection after this request.</summary>
    public bool Close { get; private set; }

    /// <summary>The header lines sent on as they came (CRLF included): all but those this path writes itself or drops.</summary>
    public ReadOnlySpan<Line> Copied => _copied.AsSpan(0, _copiedCount);

    /// <summary>
    /// Parses <paramref name="head"/>, from the request line to the blank line inclusive; false when the request is
    /// not one this path takes (<paramref name="replaceForwarded"/>: whether X-Forwarded-Host/-Proto are dropped).
    /// </summary>
    public bool TryParse(ReadOnlySpan<byte> head, bool replaceForwarded)
    {
        var lineEnd = head.IndexOf("\r\n"u8);
        if (!ParseRequestLine(head[..lineEnd]))
        {
            return false;
        }

        RequestLine = new Line(0, lineEnd + 2);
        Length = head.Length;
        HostLine = Host = Via = ForwardedFor = TraceParent = TraceState = Referer = UserAgent = AcceptEncoding = Accept = default;
        HasForwardedProto = HasForwardedHost = Close = Conditional = AcceptRepeated = false;
        _copiedCount = 0;
        var count = 0;
        var position = lineEnd + 2;
        while (position < head.Length - 2)
        {
            var length = head[position..].IndexOf("\r\n"u8);
            var line = head.Slice(position, length);
            var colon = line.IndexOf((byte)':');
            if (colon <= 0 || ++count > MaxHeaders || !ResponseHead.IsToken(line[..colon]) || line[(colon + 1)..].IndexOfAnyExcept(FieldCharacters) >= 0)
            {
                return false;
            }

            var raw = line[(colon + 1)..];
            var value = raw.Trim(" \t"u8);
            var valueRange = new Line(position + colon + 1 + (raw.Length - raw.TrimStart(" \t"u8).Length), value.Length);
            switch (Classify(line[..colon], replaceForwarded))
            {
                case Kind.Refused:
                    return false;
                case Kind.Host:
                    if (HostLine.Length != 0 || !IsPlainHost(value))
                    {
                        return false;
                    }

                    HostLine = new Line(position, length + 2);
                    Host = valueRange;
                    break;
                case Kind.Connection:
                    foreach (var range in value.Split((byte)','))
                    {
                        var option = value[range].Trim(" \t"u8);
                        if (option.EqualsIgnoreCaseAscii("close"u8))
                        {
                            Close = true;
                        }
                        else if (!option.IsEmpty && !option.EqualsIgnoreCaseAscii("keep-alive"u8))
                        {
                            return false;
                        }
                    }

                    break;
                case Kind.Via:
                    if (Via.Length != 0)
                    {
                        return false;
                    }

                    Via = valueRange;
                    break;
                case Kind.ForwardedFor:
                    if (ForwardedFor.Length != 0)
                    {
                        return false;
                    }

                    ForwardedFor = valueRange;
                    break;
                case Kind.ForwardedProto:
                    HasForwardedProto = true;
                    goto default;
                case Kind.ForwardedHost:
                    HasForwardedHost = true;
                    goto default;
                case Kind.TraceParent:
                    TraceParent = valueRange;
                    goto default;
                case Kind.TraceState:
                    TraceState = valueRange;
                    goto default;
                case Kind.Referer:
                    Referer = valueRange;
                    goto default;
                case Kind.UserAgent:
                    UserAgent = valueRange;
                    goto default;
                case Kind.AcceptEncoding:
                    AcceptEncoding = valueRange;
                    goto default;
                case Kind.Accept:
                    AcceptRepeated |= Accept.Length != 0;
                    if (!AcceptRepeated)
                    {
                        Accept = valueRange;
                    }

                    goto default;
                case Kind.Conditional:
                    Conditional = true;
                    goto default;
                case Kind.Dropped:
                    break;
                default:
                    if (_copiedCount == _copied.Length)
                    {
                        Array.Resize(ref _copied, _copiedCount * 2);
                    }

                    _copied[_copiedCount++] = new Line(position, length + 2);
                    break;
            }

            position += length + 2;
        }

        return HostLine.Length != 0;
    }

    /// <summary>Whether <paramref name="line"/> (without its CRLF) is a request line this path takes.</summary>
    public bool ParseRequestLine(ReadOnlySpan<byte> line)
    {
        int start;
        if (line.Length > MaxRequestLine - 2)
        {
            return false;
        }

        if (line.StartsWith("GET "u8))
        {
            Method = "GET";
            start = 4;
        }
        else if (line.StartsWith("HEAD "u8))
        {
            Method = "HEAD";
            start = 5;
        }
        else
        {
            return false;
        }

        // origin-form (RFC 9112 §3.2.1), visible ASCII only; absolute-form, asterisk-form and HTTP/1.0 go to Kestrel.
        var target = line[start..];
        if (!(target.Length > " HTTP/1.1"u8.Length && target[0] == '/' && target.EndsWith(" HTTP/1.1"u8)))
        {
            return false;
        }

        target = target[..^" HTTP/1.1"u8.Length];
        Target = new Line(start, target.Length);
        var query = target.IndexOf((byte)'?');
        var path = query < 0 ? target : target[..query];
        PathLength = path.Length;
        PlainPath = path.IndexOf((byte)'%') < 0 && path.IndexOf("/."u8) < 0;
        return target.IndexOfAnyExcept(TargetCharacters) < 0;
    }

    /// <summary>A name or IPv4 address and maybe a port up to 65535 (RFC 3986 §3.2.2); IPv6 literals and the rest go to Kestrel.</summary>
    private static bool IsPlainHost(ReadOnlySpan<byte> value)
    {
        var colon = value.IndexOf((byte)':');
        var name = colon < 0 ? value : value[..colon];
        if (name.IsEmpty || name.IndexOfAnyExcept(NameCharacters) >= 0)
        {
            return false;
        }

        // One to five digits, up to 65535 (five digits compare as their numbers do).
        var port = colon < 0 ? "0"u8 : value[(colon + 1)..];
        return port.Length is > 0 and <= 5 && port.IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0
            && (port.Length < 5 || port.SequenceCompareTo("65535"u8) <= 0);
    }

    // What this path leaves to Kestrel (a body, an expectation, an upgrade), then the forwarded-header policy's kinds.
    private static Kind Classify(ReadOnlySpan<byte> name, bool replaceForwarded) => name.Length switch
    {
        6 when name.EqualsIgnoreCaseAscii("expect"u8) => Kind.Refused,
        7 when name.EqualsIgnoreCaseAscii("upgrade"u8) => Kind.Refused,
        14 when name.EqualsIgnoreCaseAscii("content-length"u8) => Kind.Refused,
        17 when name.EqualsIgnoreCaseAscii("transfer-encoding"u8) => Kind.Refused,
        10 when name.EqualsIgnoreCaseAscii("connection"u8) => Kind.Connection,
        // Read by a node's own content (IConnectionContent), sent on as they came by the forwarder.
        7 when name.EqualsIgnoreCaseAscii("referer"u8) => Kind.Referer,
        10 when name.EqualsIgnoreCaseAscii("user-agent"u8) => Kind.UserAgent,
        15 when name.EqualsIgnoreCaseAscii("accept-encoding"u8) => Kind.AcceptEncoding,
        6 when name.EqualsIgnoreCaseAscii("accept"u8) => Kind.Accept,
        5 when name.EqualsIgnoreCaseAscii("range"u8) => Kind.Conditional,
        8 when name.EqualsIgnoreCaseAscii("if-range"u8) || name.EqualsIgnoreCaseAscii("if-match"u8) => Kind.Conditional,
        13 when name.EqualsIgnoreCaseAscii("if-none-match"u8) => Kind.Conditional,
        17 when name.EqualsIgnoreCaseAscii("if-modified-since"u8) => Kind.Conditional,
        19 when name.EqualsIgnoreCaseAscii("if-unmodified-since"u8) => Kind.Conditional,
        _ => ProxyHeaders.Classify(name) switch
        {
            HeaderKind.EndToEnd => Kind.EndToEnd,
            HeaderKind.Host => Kind.Host,
            HeaderKind.Via => Kind.Via,
            HeaderKind.ForwardedFor => Kind.ForwardedFor,
            var kind when ProxyHeaders.IsDropped(kind, replaceForwarded) => Kind.Dropped,
            HeaderKind.ForwardedProto => Kind.ForwardedProto,
            HeaderKind.ForwardedHost => Kind.ForwardedHost,
            HeaderKind.TraceParent => Kind.TraceParent,
            HeaderKind.TraceState => Kind.TraceState,
            _ => Kind.EndToEnd,
        },
    };

    // Visible ASCII (no obs-text, no control characters) and HTAB in a field's value; SP between words.
    private static readonly SearchValues<byte> FieldCharacters = SearchValues.Create(
        "\t !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"u8);

    private static readonly SearchValues<byte> TargetCharacters = SearchValues.Create(
        "!$%&'()*+,-./0123456789:;=?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]_abcdefghijklmnopqrstuvwxyz~"u8);

    // A reg-name's unreserved characters, and IPv4 (RFC 3986 §3.2.2).
    private static readonly SearchValues<byte> NameCharacters = SearchValues.Create(
        "-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~"u8);

    /// <summary>Where a line or value lies in the head.</summary>
    internal readonly record struct Line(int Start, int Length);

    private enum Kind
    {
        EndToEnd,
        Refused,
        Dropped,
        Host,
        Connection,
        Via,
        ForwardedFor,
        ForwardedProto,
        ForwardedHost,
        TraceParent,
        TraceState,
        Referer,
        UserAgent,
        AcceptEncoding,
        Accept,
        Conditional,
    }
}
