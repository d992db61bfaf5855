using System.Collections.Immutable;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using Strata.Proxy.Forwarding;
using Strata.Topology;

namespace Strata.Web.Static;

/// <summary>
/// The web node's <c>try_files $uri $uri/ @app</c>: app prefixes and unknown paths go to the next middleware (the
/// forwarder to the app tier); files under the root are answered here with validators, conditional requests,
/// ranges and compression; static prefixes, hidden paths and invalid paths never reach the app tier.
/// </summary>
internal sealed class StaticSiteMiddleware
{
    private const string AllowedMethods = "GET, HEAD";

    private readonly RequestDelegate _next;
    private readonly HotFileCache _files;
    private readonly WebSpec _spec;
    private readonly string _nodeName;

    /// <summary>Answers from <paramref name="files"/> as <paramref name="nodeName"/>, else calls <paramref name="next"/>.</summary>
    public StaticSiteMiddleware(RequestDelegate next, HotFileCache files, WebSpec spec, string nodeName)
    {
        _next = next;
        _files = files;
        _spec = spec;
        _nodeName = nodeName;
    }

    /// <summary>Serves, refuses or forwards one request.</summary>
    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        var verdict = SafePath.Check(context.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget);
        if (verdict == PathVerdict.Invalid)
        {
            return WriteErrorAsync(context, StatusCodes.Status400BadRequest);
        }

        var path = request.Path.Value ?? "/";
        if (StartsWithAny(path, _spec.AppPrefixes))
        {
            return _next(context);
        }

        if (verdict == PathVerdict.Hidden)
        {
            return WriteErrorAsync(context, StatusCodes.Status404NotFound);
        }

        var isStatic = StartsWithAny(path, _spec.StaticPrefixes);
        var isHead = HttpMethods.IsHead(request.Method);
        if (!isHead && !HttpMethods.IsGet(request.Method))
        {
            if (!isStatic)
            {
                return _next(context);
            }

            context.Response.Headers.Allow = AllowedMethods;
            return WriteErrorAsync(context, StatusCodes.Status405MethodNotAllowed);
        }

        var (kind, file) = _files.Find(path);
        switch (kind)
        {
            case LookupKind.File:
                return ServeAsync(context, file!, isHead);
            case LookupKind.Redirect:
                context.Response.StatusCode = StatusCodes.Status301MovedPermanently;
                context.Response.Headers[UpstreamForwarder.ServedByHeader] = _nodeName;
                context.Response.Headers.Location = UriHelper.BuildRelative(request.PathBase, new PathString(path + "/"), request.QueryString);
                return Task.CompletedTask;
            case LookupKind.NotFound when !isStatic:
                return _next(context);
            default:
                return WriteErrorAsync(context, StatusCodes.Status404NotFound);
        }
    }

    private async Task ServeAsync(HttpContext context, StaticFile file, bool isHead)
    {
        var requestHeaders = context.Request.Headers;
        var response = context.Response;
        var headers = response.Headers;

        // Ranges address the identity bytes, so a Range request never gets a compressed representation.
        var hasRange = !isHead && requestHeaders.Range.Count > 0;
        var representation = file.Identity;
        var etag = file.Identity.ETag;
        byte[]? compressed = null;
        string? encoding = null;
        if (file.Negotiable && !hasRange)
        {
            (representation, etag, compressed, encoding) = Negotiate(file, requestHeaders.AcceptEncoding);
        }

        headers[UpstreamForwarder.ServedByHeader] = _nodeName;
        headers.ETag = etag.ToString();
        headers.LastModified = file.LastModifiedHeader;
        headers.CacheControl = file.CacheControl;
        if (file.Negotiable)
        {
            headers.Vary = HeaderNames.AcceptEncoding;
        }

        switch (Preconditions.Evaluate(requestHeaders, etag, file.LastModified))
        {
            case PreconditionResult.NotModified:
                response.StatusCode = StatusCodes.Status304NotModified;
                return;
            case PreconditionResult.Failed:
                response.StatusCode = StatusCodes.Status412PreconditionFailed;
                response.ContentLength = 0;
                return;
        }

        headers.AcceptRanges = "bytes";
        headers.XContentTypeOptions = "nosniff";
        if (encoding is not null)
        {
            headers.ContentEncoding = encoding;
        }

        if (hasRange && Preconditions.IfRangeHolds(requestHeaders, etag, file.LastModified)
            && RangeWriter.Parse(requestHeaders.Range, representation.Length) is { } ranges)
        {
            if (ranges.Count == 0)
            {
                response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
                headers.ContentRange = $"bytes */{representation.Length}";
                response.ContentLength = 0;
                return;
            }

            await RangeWriter.WriteAsync(context, representation, file.ContentType, ranges);
            return;
        }

        headers.ContentType = file.ContentType;
        var body = compressed ?? representation.Content;
        response.ContentLength = body?.LongLength ?? representation.Length;
        if (isHead)
        {
            return;
        }

        if (body is not null)
        {
            await response.Body.WriteAsync(body, context.RequestAborted);
            return;
        }

        try
        {
            await response.SendFileAsync(representation.PhysicalPath, 0, representation.Length, context.RequestAborted);
        }
        catch (IOException) when (!response.HasStarted)
        {
            // Deleted or truncated between the stat and the open: forget it and answer as if it were never there.
            _files.Forget(file);
            response.Headers.Clear();
            await WriteErrorAsync(context, StatusCodes.Status404NotFound);
        }
    }

    /// <summary>Picks br, then gzip: a precompressed sibling first, else (above the threshold) bytes compressed on the fly.</summary>
    private (Representation, EntityTagHeaderValue, byte[]?, string?) Negotiate(StaticFile file, Microsoft.Extensions.Primitives.StringValues acceptEncoding)
    {
        var (brotli, gzip) = Compression.Accepted(acceptEncoding);
        if (brotli && file.BrotliSibling is { } br)
        {
            return (br, br.ETag, null, "br");
        }

        if (gzip && file.GzipSibling is { } gz)
        {
            return (gz, gz.ETag, null, "gzip");
        }

        var length = file.Identity.Length;
        if ((brotli || gzip) && file.Compressible && length >= _spec.CompressMinBytes && length <= _spec.MemoryCacheMaxFileBytes)
        {
            var coding = brotli ? ContentCoding.Brotli : ContentCoding.Gzip;
            if (_files.GetCompressed(file, coding) is { } bytes)
            {
                return (file.Identity, file.CodedETag(coding), bytes, Compression.Token(coding));
            }
        }

        return (file.Identity, file.Identity.ETag, null, null);
    }

    /// <summary>An error from the web node itself: the configured error page for the status if any, else a line of text.</summary>
    private async Task WriteErrorAsync(HttpContext context, int status)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.Headers[UpstreamForwarder.ServedByHeader] = _nodeName;
        response.Headers.XContentTypeOptions = "nosniff";
        var isHead = HttpMethods.IsHead(context.Request.Method);
        if (ErrorPage(status) is { } page)
        {
            response.Headers.ContentType = page.ContentType;
            response.ContentLength = page.Identity.Length;
            if (!isHead)
            {
                if (page.Identity.Content is { } content)
                {
                    await response.Body.WriteAsync(content, context.RequestAborted);
                }
                else
                {
                    await response.SendFileAsync(page.Identity.PhysicalPath, 0, page.Identity.Length, context.RequestAborted);
                }
            }

            return;
        }

        var text = Encoding.ASCII.GetBytes($"{status} {ReasonPhrases.GetReasonPhrase(status)}\n");
        response.Headers.ContentType = "text/plain; charset=utf-8";
        response.ContentLength = text.Length;
        if (!isHead)
        {
            await response.Body.WriteAsync(text, context.RequestAborted);
        }
    }

    private StaticFile? ErrorPage(int status)
    {
        var pages = _spec.ErrorPages;
        if (pages.IsEmpty)
        {
            return null;
        }

        if (!pages.TryGetValue(status.ToString(System.Globalization.CultureInfo.InvariantCulture), out var path)
            && !(status >= 500 && pages.TryGetValue("50x", out path)))
        {
            return null;
        }

        path = path.StartsWith('/') ? path : "/" + path;
        return SafePath.Check(path) == PathVerdict.Ok && _files.Find(path) is (LookupKind.File, { } page) ? page : null;
    }

    private static bool StartsWithAny(string path, ImmutableArray<string> prefixes)
    {
        foreach (var prefix in prefixes)
        {
            if (path.StartsWith(prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
