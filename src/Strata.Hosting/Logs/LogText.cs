using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Strata.Hosting.Logs;

/// <summary>
/// Writes the pieces of a text log line as UTF-8 into a buffer, without intermediate strings: what the web node's
/// <c>combined</c> access log and the load balancer's <c>httplog</c> request log share.
/// </summary>
public static class LogText
{
    /// <summary>Longest UTF-8 form of one UTF-16 char, escaped: 3 bytes, each as \xHH.</summary>
    private const int MaxEscapedBytesPerChar = 12;

    /// <summary>Writes <paramref name="text"/> as it is (text the node made, never the client's).</summary>
    public static void Raw(IBufferWriter<byte> output, string text)
    {
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        output.Advance(Encoding.UTF8.GetBytes(text, span));
    }

    /// <summary>Writes <paramref name="bytes"/> as they are.</summary>
    public static void Raw(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes) => output.Write(bytes);

    /// <summary>Writes one ASCII character.</summary>
    public static void Char(IBufferWriter<byte> output, char c)
    {
        output.GetSpan(1)[0] = (byte)c;
        output.Advance(1);
    }

    /// <summary>Writes <paramref name="value"/> in decimal.</summary>
    public static void Number(IBufferWriter<byte> output, long value)
    {
        var span = output.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out var written);
        output.Advance(written);
    }

    /// <summary>Writes <paramref name="value"/> with <paramref name="format"/>, e.g. "0.000".</summary>
    public static void Number(IBufferWriter<byte> output, double value, string format)
    {
        var span = output.GetSpan(32);
        value.TryFormat(span, out var written, format, CultureInfo.InvariantCulture);
        output.Advance(written);
    }

    /// <summary>Writes an address as text (an IPv4-mapped IPv6 address as IPv4), or <c>-</c>.</summary>
    public static void Address(IBufferWriter<byte> output, System.Net.IPAddress? address)
    {
        if (address is null)
        {
            Char(output, '-');
            return;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        var span = output.GetSpan(64);
        address.TryFormat(span, out var written);
        output.Advance(written);
    }

    /// <summary>
    /// Writes <paramref name="text"/> (the client's: a target, a header) as UTF-8 with <c>"</c>, <c>\</c>, control
    /// characters and bytes above 0x7E written <c>\xHH</c>, as nginx does, so a client cannot forge a line or a field.
    /// </summary>
    public static void Escaped(IBufferWriter<byte> output, string text)
    {
        var span = output.GetSpan(text.Length * MaxEscapedBytesPerChar);
        Span<byte> utf8 = stackalloc byte[4];
        var n = 0;
        var chars = text.AsSpan();
        while (!chars.IsEmpty)
        {
            if (chars[0] < 0x80)
            {
                n += EscapedByte(span[n..], (byte)chars[0]);
                chars = chars[1..];
                continue;
            }

            // A lone surrogate becomes U+FFFD, as Encoding.UTF8 writes it.
            Rune.DecodeFromUtf16(chars, out var rune, out var consumed);
            var length = rune.EncodeToUtf8(utf8);
            foreach (var b in utf8[..length])
            {
                n += EscapedByte(span[n..], b);
            }

            chars = chars[consumed..];
        }

        output.Advance(n);
    }

    private static int EscapedByte(Span<byte> span, byte b)
    {
        if (b is < 0x20 or >= 0x7F or (byte)'"' or (byte)'\\')
        {
            span[0] = (byte)'\\';
            span[1] = (byte)'x';
            span[2] = (byte)"0123456789ABCDEF"[b >> 4];
            span[3] = (byte)"0123456789ABCDEF"[b & 0xF];
            return 4;
        }

        span[0] = b;
        return 1;
    }
}
