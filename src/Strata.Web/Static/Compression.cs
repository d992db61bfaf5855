using System.IO.Compression;
using Microsoft.Extensions.Primitives;

namespace Strata.Web.Static;

/// <summary>A content coding the web node can serve.</summary>
internal enum ContentCoding
{
    /// <summary>The file's own bytes.</summary>
    Identity,

    /// <summary>Brotli (RFC 7932), preferred when accepted.</summary>
    Brotli,

    /// <summary>gzip (RFC 1952).</summary>
    Gzip,
}

/// <summary>Accept-Encoding negotiation (RFC 9110 §12.5.3) and on-the-fly compression of a file's bytes.</summary>
internal static class Compression
{
    /// <summary>Brotli quality for on-the-fly compression: close to gzip's speed, smaller output.</summary>
    public const int BrotliQuality = 5;

    /// <summary>Which of br and gzip the client accepts (q &gt; 0), counting <c>*</c> for codings it does not name.</summary>
    public static (bool Brotli, bool Gzip) Accepted(StringValues acceptEncoding)
    {
        bool? br = null, gzip = null, any = null;
        foreach (var header in acceptEncoding)
        {
            if (header is null)
            {
                continue;
            }

            foreach (var item in header.AsSpan().Split(','))
            {
                var entry = header.AsSpan()[item];
                var semicolon = entry.IndexOf(';');
                var name = (semicolon < 0 ? entry : entry[..semicolon]).Trim();
                var allowed = semicolon < 0 || QualityAboveZero(entry[(semicolon + 1)..]);
                if (name.Equals("br", StringComparison.OrdinalIgnoreCase))
                {
                    br = allowed;
                }
                else if (name.Equals("gzip", StringComparison.OrdinalIgnoreCase) || name.Equals("x-gzip", StringComparison.OrdinalIgnoreCase))
                {
                    gzip = allowed;
                }
                else if (name.SequenceEqual("*"))
                {
                    any = allowed;
                }
            }
        }

        return (br ?? any ?? false, gzip ?? any ?? false);
    }

    /// <summary>The coding's Content-Encoding token.</summary>
    public static string Token(ContentCoding coding) => coding == ContentCoding.Brotli ? "br" : "gzip";

    /// <summary>The file-name suffix of a precompressed sibling and the ETag suffix of the representation.</summary>
    public static string Suffix(ContentCoding coding) => coding == ContentCoding.Brotli ? "br" : "gz";

    /// <summary>Compresses <paramref name="content"/> whole (the caller bounds its size).</summary>
    public static byte[] Compress(ReadOnlySpan<byte> content, ContentCoding coding)
    {
        if (coding == ContentCoding.Brotli)
        {
            var buffer = new byte[BrotliEncoder.GetMaxCompressedLength(content.Length)];
            if (!BrotliEncoder.TryCompress(content, buffer, out var written, BrotliQuality, window: 22))
            {
                throw new InvalidOperationException("Brotli output exceeded its maximum length.");
            }

            return buffer.AsSpan(0, written).ToArray();
        }

        using var output = new MemoryStream(content.Length / 3 + 64);
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(content);
        }

        return output.ToArray();
    }

    private static bool QualityAboveZero(ReadOnlySpan<char> parameters)
    {
        foreach (var range in parameters.Split(';'))
        {
            var parameter = parameters[range].Trim();
            if (parameter.Length > 2 && (parameter[0] == 'q' || parameter[0] == 'Q') && parameter[1] == '=')
            {
                // "q=0", "q=0.0", "q=0.000" refuse; anything else that parses accepts.
                return double.TryParse(parameter[2..], System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out var q) && q > 0;
            }
        }

        return true;
    }
}
