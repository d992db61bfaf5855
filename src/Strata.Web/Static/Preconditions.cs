using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Strata.Web.Static;

/// <summary>The outcome of a request's preconditions.</summary>
internal enum PreconditionResult
{
    /// <summary>Serve the representation.</summary>
    Proceed,

    /// <summary>304: the client's copy is current.</summary>
    NotModified,

    /// <summary>412: If-Match or If-Unmodified-Since failed.</summary>
    Failed,
}

/// <summary>Conditional requests for GET and HEAD, evaluated in the order of RFC 9110 §13.2.2.</summary>
internal static class Preconditions
{
    /// <summary>Evaluates If-Match, If-Unmodified-Since, If-None-Match and If-Modified-Since against a representation.</summary>
    public static PreconditionResult Evaluate(IHeaderDictionary headers, EntityTagHeaderValue etag, DateTimeOffset lastModified)
    {
        // RFC 9110 §13.1.1: If-Match uses the strong comparison; §13.1.4: If-Unmodified-Since only without If-Match.
        var ifMatch = headers.IfMatch;
        if (!StringValues.IsNullOrEmpty(ifMatch))
        {
            if (!Matches(ifMatch, etag, strong: true))
            {
                return PreconditionResult.Failed;
            }
        }
        else if (TryDate(headers.IfUnmodifiedSince, out var unmodifiedSince) && lastModified > unmodifiedSince)
        {
            return PreconditionResult.Failed;
        }

        // §13.1.2: If-None-Match uses the weak comparison; §13.1.3: If-Modified-Since only without If-None-Match.
        var ifNoneMatch = headers.IfNoneMatch;
        if (!StringValues.IsNullOrEmpty(ifNoneMatch))
        {
            return Matches(ifNoneMatch, etag, strong: false) ? PreconditionResult.NotModified : PreconditionResult.Proceed;
        }

        return TryDate(headers.IfModifiedSince, out var modifiedSince) && lastModified <= modifiedSince
            ? PreconditionResult.NotModified
            : PreconditionResult.Proceed;
    }

    /// <summary>
    /// Whether a Range may apply (RFC 9110 §13.1.5): no If-Range, or one whose entity tag strongly matches, or whose
    /// date equals Last-Modified.
    /// </summary>
    public static bool IfRangeHolds(IHeaderDictionary headers, EntityTagHeaderValue etag, DateTimeOffset lastModified)
    {
        var ifRange = headers.IfRange;
        if (StringValues.IsNullOrEmpty(ifRange))
        {
            return true;
        }

        if (!RangeConditionHeaderValue.TryParse(ifRange.ToString(), out var condition))
        {
            return false;
        }

        return condition.EntityTag is { } tag
            ? tag.Compare(etag, useStrongComparison: true)
            : condition.LastModified == lastModified;
    }

    private static bool Matches(StringValues header, EntityTagHeaderValue etag, bool strong)
    {
        if (!EntityTagHeaderValue.TryParseList(header, out var tags))
        {
            return false;
        }

        foreach (var tag in tags)
        {
            if (tag.Equals(EntityTagHeaderValue.Any) || tag.Compare(etag, strong))
            {
                return true;
            }
        }

        return false;
    }

    private static bool TryDate(StringValues header, out DateTimeOffset date)
    {
        date = default;
        return !StringValues.IsNullOrEmpty(header) && HeaderUtilities.TryParseDate(header.ToString(), out date);
    }
}
