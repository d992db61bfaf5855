using System.Diagnostics;
using Strata.Hosting.Telemetry;

namespace Strata.Proxy.Forwarding.Http1;

/// <summary>Writes a request head into the connection's head buffer, refusing characters a header cannot carry.</summary>
internal ref struct HeadWriter(Http1Connection connection)
{
    public int Length { get; private set; }

    public void Header(string name, string value)
    {
        Append(name);
        Append(": "u8);
        Append(value);
        Append("\r\n"u8);
    }

    /// <summary>The trace context naming <paramref name="span"/> as the parent (<see cref="TraceContextHeaders"/>); nothing without one.</summary>
    public void TraceContext(Activity? span)
    {
        if (span is null)
        {
            return;
        }

        Header(TraceContextHeaders.TraceParent, span.Id!);
        if (span.TraceStateString is { Length: > 0 } state)
        {
            Header(TraceContextHeaders.TraceState, state);
        }
    }

    public void Append(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(Reserve(bytes.Length));
        Length += bytes.Length;
    }

    /// <summary>
    /// Appends <paramref name="text"/>: ASCII as it is, other text as UTF-8 (Kestrel decoded it from UTF-8, so the
    /// server gets the client's bytes). Control characters but HTAB, and DEL, are refused: RequestScreen refuses
    /// them before a server is chosen; this is the last line of defence.
    /// </summary>
    /// <exception cref="InvalidOperationException">The text holds a character a header cannot carry.</exception>
    public void Append(string text)
    {
        if (text.AsSpan().IndexOfAny(RequestScreen.ForbiddenInValue) >= 0)
        {
            throw new InvalidOperationException("a request header holds a control character");
        }

        var count = System.Text.Ascii.IsValid(text) ? text.Length : System.Text.Encoding.UTF8.GetByteCount(text);
        Length += System.Text.Encoding.UTF8.GetBytes(text, Reserve(count));
    }

    private Span<byte> Reserve(int count)
    {
        if (Length + count > connection.HeadBuffer.Length)
        {
            Array.Resize(ref connection.HeadBuffer, Math.Max(connection.HeadBuffer.Length * 2, Length + count));
        }

        return connection.HeadBuffer.AsSpan(Length, count);
    }
}
