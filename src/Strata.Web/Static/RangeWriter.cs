using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Strata.Web.Static;

/// <summary>
/// Byte ranges (RFC 9110 §14): parsing into satisfiable, coalesced ranges, and writing one range or a
/// <c>multipart/byteranges</c> body. Written by hand because ASP.NET's StaticFileMiddleware answers a request for
/// several ranges with the whole file.
/// </summary>
internal static class RangeWriter
{
    /// <summary>More ranges than this in one header are ignored (200), as nginx's max_ranges does.</summary>
    public const int MaxRanges = 64;

    /// <summary>
    /// The ranges of <paramref name="header"/> within <paramref name="length"/> bytes, sorted and coalesced: null when
    /// the header is to be ignored (bad syntax, another unit, too many ranges), empty when none is satisfiable (416).
    /// </summary>
    public static List<(long Start, long End)>? Parse(StringValues header, long length)
    {
        if (header.Count != 1 || !RangeHeaderValue.TryParse(header.ToString(), out var range)
            || !range.Unit.Equals("bytes", StringComparison.OrdinalIgnoreCase) || range.Ranges.Count > MaxRanges)
        {
            return null;
        }

        var ranges = new List<(long Start, long End)>(range.Ranges.Count);
        foreach (var item in range.Ranges)
        {
            if (item.From is { } from)
            {
                if (from < length)
                {
                    ranges.Add((from, item.To is { } to && to < length ? to : length - 1));
                }
            }
            else if (item.To is { } suffix && suffix > 0 && length > 0)
            {
                ranges.Add((Math.Max(0, length - suffix), length - 1));
            }
        }

        if (ranges.Count > 1)
        {
            ranges.Sort(static (a, b) => a.Start.CompareTo(b.Start));
            var merged = 0;
            for (var i = 1; i < ranges.Count; i++)
            {
                if (ranges[i].Start <= ranges[merged].End + 1)
                {
                    ranges[merged] = (ranges[merged].Start, Math.Max(ranges[merged].End, ranges[i].End));
                }
                else
                {
                    ranges[++merged] = ranges[i];
                }
            }

            ranges.RemoveRange(merged + 1, ranges.Count - merged - 1);
        }

        return ranges;
    }

    /// <summary>Writes a 206 for the ranges of <paramref name="representation"/>: one range plainly, several as multipart.</summary>
    public static async Task WriteAsync(HttpContext context, Representation representation, string contentType, List<(long Start, long End)> ranges)
    {
        var response = context.Response;
        var length = representation.Length;
        response.StatusCode = StatusCodes.Status206PartialContent;
        if (ranges.Count == 1)
        {
            var (start, end) = ranges[0];
            response.Headers.ContentType = contentType;
            response.Headers.ContentRange = $"bytes {start}-{end}/{length}";
            response.ContentLength = end - start + 1;
            await WritePartAsync(context, representation, start, end);
            return;
        }

        var boundary = RandomNumberGenerator.GetHexString(24, lowercase: true);
        var partHeaders = new byte[ranges.Count][];
        long total = 0;
        for (var i = 0; i < ranges.Count; i++)
        {
            var (start, end) = ranges[i];
            partHeaders[i] = Encoding.ASCII.GetBytes(
                $"\r\n--{boundary}\r\nContent-Type: {contentType}\r\nContent-Range: bytes {start}-{end}/{length}\r\n\r\n");
            total += partHeaders[i].Length + end - start + 1;
        }

        var closing = Encoding.ASCII.GetBytes($"\r\n--{boundary}--\r\n");
        response.Headers.ContentType = "multipart/byteranges; boundary=" + boundary;
        response.ContentLength = total + closing.Length;
        for (var i = 0; i < ranges.Count; i++)
        {
            await response.Body.WriteAsync(partHeaders[i], context.RequestAborted);
            await WritePartAsync(context, representation, ranges[i].Start, ranges[i].End);
        }

        await response.Body.WriteAsync(closing, context.RequestAborted);
    }

    private static Task WritePartAsync(HttpContext context, Representation representation, long start, long end)
    {
        var count = end - start + 1;
        return representation.Content is { } content
            ? context.Response.Body.WriteAsync(content.AsMemory((int)start, (int)count), context.RequestAborted).AsTask()
            : context.Response.SendFileAsync(representation.PhysicalPath, start, count, context.RequestAborted);
    }
}
