namespace Strata.Proxy.Forwarding.Http1;

/// <summary>
/// An HTTP/1.x response head parsed in place (RFC 9112 §2–§6): the status, how the body is framed, whether the
/// connection stays open, and where each end-to-end header's name and value lie in the received bytes.
/// Strict where laxness lets a response be read two ways: no obsolete line folding, no whitespace before the
/// colon, no control characters, one Content-Length, never both Content-Length and Transfer-Encoding.
/// </summary>
internal sealed class ResponseHead
{
    private HeaderRange[] _headers = new HeaderRange[24];

    public int Status { get; private set; }

    /// <summary>Bytes from the status line to the blank line, inclusive.</summary>
    public int Length { get; private set; }

    /// <summary>The body's length from Content-Length, or -1.</summary>
    public long ContentLength { get; private set; }

    public bool Chunked { get; private set; }

    /// <summary>Whether the server keeps the connection open after this response (HTTP/1.1 without Connection: close).</summary>
    public bool KeepAlive { get; private set; }

    /// <summary>Header names listed in Connection (other than close and keep-alive): not relayed. Rare, so a list.</summary>
    public List<string>? ConnectionOptions { get; private set; }

    /// <summary>Why the last parse failed.</summary>
    public string? Error { get; private set; }

    /// <summary>The end-to-end headers, in order (hop-by-hop and framing headers left out).</summary>
    public ReadOnlySpan<HeaderRange> Headers => _headers.AsSpan(0, _count);

    private int _count;

    public ParseResult TryParse(ReadOnlySpan<byte> data)
    {
        var end = data.IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            return data.Length >= Http1Connection.MaxHeadSize ? Invalid($"the response head is larger than {Http1Connection.MaxHeadSize / 1024} KiB") : ParseResult.Incomplete;
        }

        Length = end + 4;
        var lineEnd = data.IndexOf("\r\n"u8);
        var statusLine = data[..lineEnd];
        if (statusLine.Length < 12 || !statusLine.StartsWith("HTTP/1."u8) || statusLine[7] is not ((byte)'0' or (byte)'1')
            || statusLine[8] != ' ' || !IsDigit(statusLine[9]) || !IsDigit(statusLine[10]) || !IsDigit(statusLine[11])
            || (statusLine.Length > 12 && statusLine[12] != ' '))
        {
            return Invalid("the status line is not HTTP/1.x");
        }

        Status = ((statusLine[9] - '0') * 100) + ((statusLine[10] - '0') * 10) + (statusLine[11] - '0');
        var http11 = statusLine[7] == '1';
        ContentLength = -1;
        Chunked = false;
        ConnectionOptions = null;
        _count = 0;
        var close = false;
        var keepAlive = false;

        var position = lineEnd + 2;
        while (position < Length - 2)
        {
            var lineLength = data[position..].IndexOf("\r\n"u8);
            var line = data.Slice(position, lineLength);
            var colon = line.IndexOf((byte)':');
            if (colon <= 0 || !IsToken(line[..colon]))
            {
                return Invalid("a header line is not name: value");
            }

            var value = line[(colon + 1)..];
            var leading = value.Length - value.TrimStart(" \t"u8).Length;
            value = value.Trim(" \t"u8);
            if (HasControlCharacter(value))
            {
                return Invalid("a header value has a control character");
            }

            var name = line[..colon];
            switch (Classify(name))
            {
                case Kind.ContentLength:
                    if (!TryParseLength(value, out var length) || (ContentLength >= 0 && ContentLength != length))
                    {
                        return Invalid("Content-Length is not one number");
                    }

                    ContentLength = length;
                    break;
                case Kind.TransferEncoding:
                    if (Chunked || !value.EqualsIgnoreCaseAscii("chunked"u8))
                    {
                        return Invalid("a Transfer-Encoding other than chunked");
                    }

                    Chunked = true;
                    break;
                case Kind.Connection:
                    foreach (var range in value.Split((byte)','))
                    {
                        var option = value[range].Trim(" \t"u8);
                        if (option.EqualsIgnoreCaseAscii("close"u8))
                        {
                            close = true;
                        }
                        else if (option.EqualsIgnoreCaseAscii("keep-alive"u8))
                        {
                            keepAlive = true;
                        }
                        else if (!option.IsEmpty)
                        {
                            (ConnectionOptions ??= []).Add(System.Text.Encoding.Latin1.GetString(option));
                        }
                    }

                    break;
                case Kind.HopByHop:
                    break;
                default:
                    if (_count == _headers.Length)
                    {
                        Array.Resize(ref _headers, _count * 2);
                    }

                    _headers[_count++] = new HeaderRange(position, colon, position + colon + 1 + leading, value.Length);
                    break;
            }

            position += lineLength + 2;
        }

        if (Chunked && ContentLength >= 0)
        {
            return Invalid("both Content-Length and Transfer-Encoding");
        }

        KeepAlive = !close && (http11 || keepAlive);
        Error = null;
        return ParseResult.Complete;
    }

    /// <summary>Whether the header <paramref name="name"/> is named in Connection, so not relayed.</summary>
    public bool IsConnectionOption(ReadOnlySpan<byte> name)
    {
        foreach (var option in ConnectionOptions!)
        {
            if (name.Length == option.Length && System.Text.Ascii.EqualsIgnoreCase(name, option))
            {
                return true;
            }
        }

        return false;
    }

    private ParseResult Invalid(string error)
    {
        Error = error;
        return ParseResult.Invalid;
    }

    private static Kind Classify(ReadOnlySpan<byte> name) => name.Length switch
    {
        2 when name.EqualsIgnoreCaseAscii("te"u8) => Kind.HopByHop,
        7 when name.EqualsIgnoreCaseAscii("upgrade"u8) || name.EqualsIgnoreCaseAscii("trailer"u8) => Kind.HopByHop,
        10 when name.EqualsIgnoreCaseAscii("connection"u8) => Kind.Connection,
        10 when name.EqualsIgnoreCaseAscii("keep-alive"u8) => Kind.HopByHop,
        14 when name.EqualsIgnoreCaseAscii("content-length"u8) => Kind.ContentLength,
        16 when name.EqualsIgnoreCaseAscii("proxy-connection"u8) => Kind.HopByHop,
        17 when name.EqualsIgnoreCaseAscii("transfer-encoding"u8) => Kind.TransferEncoding,
        _ => Kind.EndToEnd,
    };

    private static bool TryParseLength(ReadOnlySpan<byte> value, out long length)
    {
        length = 0;
        if (value.IsEmpty || value.Length > 18)
        {
            return false;
        }

        foreach (var b in value)
        {
            if (!IsDigit(b))
            {
                return false;
            }

            length = (length * 10) + (b - '0');
        }

        return true;
    }

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

    // RFC 9110 §5.6.2 tchar.
    internal static bool IsToken(ReadOnlySpan<byte> name) =>
        name.IndexOfAnyExcept(TokenCharacters) < 0;

    private static readonly System.Buffers.SearchValues<byte> TokenCharacters =
        System.Buffers.SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    // RFC 9110 §5.5: field values may hold SP, HTAB, visible ASCII and obs-text, nothing else.
    private static bool HasControlCharacter(ReadOnlySpan<byte> value) =>
        value.IndexOfAny(ControlCharacters) >= 0;

    private static readonly System.Buffers.SearchValues<byte> ControlCharacters = System.Buffers.SearchValues.Create(
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 127]);

    private enum Kind
    {
        EndToEnd,
        ContentLength,
        TransferEncoding,
        Connection,
        HopByHop,
    }
}

/// <summary>Where a header's name and value lie in the received bytes.</summary>
internal readonly record struct HeaderRange(int NameStart, int NameLength, int ValueStart, int ValueLength);

internal enum ParseResult
{
    Incomplete,
    Complete,
    Invalid,
}

internal static class AsciiSpanExtensions
{
    public static bool EqualsIgnoreCaseAscii(this ReadOnlySpan<byte> span, ReadOnlySpan<byte> lowerCase) =>
        span.Length == lowerCase.Length && System.Text.Ascii.EqualsIgnoreCase(span, lowerCase);
}
