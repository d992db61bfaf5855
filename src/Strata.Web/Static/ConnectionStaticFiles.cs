using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Strata.Hosting.Logs;
using Strata.Hosting.WarmUp;
using Strata.Hosting.Metrics;
using Strata.Proxy.Clients.Connections;
using Strata.Topology;
using Strata.Web.AccessLog;

namespace Strata.Web.Static;

/// <summary>
/// The web node's files on the connection path (<see cref="IConnectionContent"/>), below Kestrel's HTTP layer: a plain
/// GET or HEAD of a file is answered with the bytes <see cref="StaticSiteMiddleware"/> would send (the same head, but
/// Date), logged and counted as there. Small files go out with their head in one <c>send</c>, larger ones by sendfile
/// from a descriptor kept open with the cache entry (<see cref="OpenFiles"/>). Everything else is left to Kestrel's way
/// in, where the middleware answers it: conditional and range requests, a negotiable file asked with Accept-Encoding,
/// directories, index files and redirects, missing files (404 or forwarded), hidden or encoded paths, app prefixes,
/// and every request while the node has routes (they come first).
/// </summary>
/// <remarks>
/// Written by hand, as the load balancer's connection path: Kestrel's HTTP layer and its output pipe cost the web node
/// more CPU per request than all of nginx (docs/benchmarks.md, "What stands in the way of parity").
/// </remarks>
internal sealed class ConnectionStaticFiles : IConnectionContent
{
    /// <summary>Files larger than this (or not held in memory) are sent by sendfile; smaller ones are copied with their head into one send.</summary>
    public const int SendFileMinBytes = 16 * 1024;

    // Longer paths are left to Kestrel's way in (a stack buffer holds the path as characters).
    private const int MaxPath = 1024;

    private readonly HotFileCache _files;
    private readonly WebSpec _spec;
    private readonly string _nodeName;
    private readonly bool _serverHeader;
    private readonly ServedRequests _served;
    private readonly LogFileWriter<AccessLogEntry>? _log;
    private readonly TrustedPeers _proxies;
    private readonly TimeProvider _time;
    private readonly EndpointDataSource? _endpoints;
    private readonly NodeWarmUp? _warmUp;
    private long _servedCount;
    private long _forwardedCount;
    private volatile EndpointPaths? _endpointPaths;

    public ConnectionStaticFiles(HotFileCache files, WebSpec spec, string nodeName, bool serverHeader, ServedRequests served, LogFileWriter<AccessLogEntry>? log, TrustedPeers proxies, TimeProvider time, EndpointDataSource? endpoints = null, NodeWarmUp? warmUp = null)
    {
        _endpoints = endpoints;
        _warmUp = warmUp;
        AnswerHeaders = new ConnectionAnswerHeaders(serverHeader, spec.SecurityHeaders);
        _files = files;
        _spec = spec;
        _nodeName = nodeName;
        _serverHeader = serverHeader;
        _served = served;
        _log = log;
        _proxies = proxies;
        _time = time;
    }

    /// <summary>Answers served on this path (tests tell it from Kestrel's way in by it).</summary>
    internal long Served => Interlocked.Read(ref _servedCount);

    /// <summary>Requests forwarded (or answered with an error) on this path.</summary>
    internal long ForwardedCount => Interlocked.Read(ref _forwardedCount);

    public ConnectionAnswerHeaders AnswerHeaders { get; }

    /// <summary>
    /// Whether a request the files left is forwarded here: not while the node has routes (Kestrel's way in applies them
    /// first), nor a path that may need decoding or that one of the node's endpoints (its management routes) could match.
    /// </summary>
    /// <remarks>
    /// As <see cref="StaticSiteMiddleware"/> passes a request on to the forwarder: under an app prefix, or nothing there
    /// outside the static prefixes; what the middleware answers itself (400, 404, a redirect, a directory's index, a file
    /// the connection path did not serve) is Kestrel's.
    /// </remarks>
    private bool Forwards(IConnectionRequest request, bool lookedUpMissing)
    {
        var bytes = request.Path;
        if (request.HasRoutes || !request.PlainPath || bytes.Length > MaxPath)
        {
            return false;
        }

        Span<char> path = stackalloc char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            path[i] = (char)bytes[i];
        }

        var verdict = SafePath.Check(path);
        if (verdict == PathVerdict.Invalid)
        {
            return false;
        }

        if (!StartsWithAny(path, _spec.AppPrefixes))
        {
            if (verdict != PathVerdict.Ok || StartsWithAny(path, _spec.StaticPrefixes)
                || (!lookedUpMissing && !_files.IsKnownMissing(path) && (_files.FindCached(path) is not null || _files.Find(new string(path)).Kind != LookupKind.NotFound)))
            {
                return false;
            }
        }

        var paths = _endpointPaths ??= EndpointPaths.From(_endpoints);
        return !paths.Matches(bytes);
    }

    public void Forwarded(IConnectionRequest request, int status, long bytes, string? servedBy, long started)
    {
        var elapsed = Stopwatch.GetElapsedTime(started);
        var own = _warmUp?.IsOwn(request.UserAgent) == true;
        _served.Record(status, elapsed, own);
        if (_log is not null)
        {
            var isHead = request.IsHead;
            _log.TryWrite(new AccessLogEntry(
                _time.GetUtcNow(),
                request.Peer,
                Text(request.ForwardedFor),
                isHead ? "HEAD" : "GET",
                Encoding.ASCII.GetString(request.Target),
                "HTTP/1.1",
                status,
                isHead ? 0 : bytes,
                Text(request.Referer),
                Text(request.UserAgent),
                elapsed,
                servedBy is null || servedBy == _nodeName ? null : servedBy,
                _proxies),
                own);
        }

        if (!own)
        {
            Interlocked.Increment(ref _forwardedCount);
        }
    }

    public ValueTask? TryServe(IConnectionRequest request, out bool forward)
    {
        var serving = TryServeFile(request, out var lookedUpMissing);
        // A path just looked up and found missing is not looked up again (a miss costs a stat).
        forward = serving is null && Forwards(request, lookedUpMissing);
        return serving;
    }

    private ValueTask? TryServeFile(IConnectionRequest request, out bool lookedUpMissing)
    {
        lookedUpMissing = false;
        var started = Stopwatch.GetTimestamp();
        var bytes = request.Path;
        if (!request.PlainPath || request.Conditional || request.HasRoutes || bytes.Length > MaxPath || bytes[^1] == '/')
        {
            return null;
        }

        Span<char> path = stackalloc char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            path[i] = (char)bytes[i];
        }

        if (SafePath.Check(path) != PathVerdict.Ok || StartsWithAny(path, _spec.AppPrefixes))
        {
            return null;
        }

        var file = _files.FindCached(path);
        if (file is null)
        {
            if (_files.IsKnownMissing(path))
            {
                lookedUpMissing = true;
                return null;
            }

            // Not cached yet: resolved (and cached) as the middleware would, once.
            var (kind, found) = _files.Find(new string(path));
            if (kind != LookupKind.File || found is null || found.Key.Length != path.Length)
            {
                lookedUpMissing = kind == LookupKind.NotFound;
                return null;
            }

            file = found;
        }

        if (file.Negotiable && !request.AcceptEncoding.IsEmpty)
        {
            // A coding may apply: Kestrel's way in negotiates it (Compression, precompressed siblings).
            return null;
        }

        var identity = file.Identity;
        var isHead = request.IsHead;
        OpenFile? open = null;
        // An empty file has only its head (a sendfile of 0 bytes would send the whole file).
        if (!isHead && identity.Length > 0 && (identity.Content is null || identity.Length > SendFileMinBytes))
        {
            if (identity.Length > int.MaxValue || (open = _files.OpenFiles.Acquire(identity)) is null)
            {
                // Gone or changed since the entry was made: the middleware finds out and answers.
                _files.Forget(file);
                return null;
            }
        }

        return ServeAsync(request, file, isHead, open, started);
    }

    // The pooling builder: an answer that waits for its client costs no allocation either.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ServeAsync(IConnectionRequest request, StaticFile file, bool isHead, OpenFile? open, long started)
    {
        var head = file.Head ??= ConnectionHead.Build(file, _spec.SecurityHeaders, _nodeName, _serverHeader);
        var identity = file.Identity;
        var inline = !isHead && open is null ? identity.Content : null;
        var buffer = request.Buffer(head.MaxLength + (inline?.Length ?? 0));
        var length = head.Write(buffer.Span, request.Closes);
        if (inline is not null)
        {
            inline.CopyTo(buffer.Span[length..]);
            length += inline.Length;
        }

        try
        {
            if (open is not null)
            {
                await request.SendFileAsync(buffer[..length], open.Stream, 0, (int)identity.Length);
            }
            else
            {
                await request.SendAsync(buffer[..length]);
            }
        }
        finally
        {
            open?.Release();
        }

        Interlocked.Increment(ref _servedCount);
        var own = _warmUp?.IsOwn(request.UserAgent) == true;
        _served.Record(200, Stopwatch.GetElapsedTime(started), own);
        if (_log is not null)
        {
            _log.TryWrite(new AccessLogEntry(
                _time.GetUtcNow(),
                request.Peer,
                Text(request.ForwardedFor),
                isHead ? "HEAD" : "GET",
                request.Target.Length == file.Key.Length ? file.Key : Encoding.ASCII.GetString(request.Target),
                "HTTP/1.1",
                200,
                isHead ? 0 : identity.Length,
                Text(request.Referer),
                Text(request.UserAgent),
                Stopwatch.GetElapsedTime(started),
                null,
                _proxies),
                own);
        }
    }

    /// <summary>
    /// The first path segments of the node's endpoints but the forwarding fallback (<c>/healthz</c>, <c>/readyz</c>,
    /// <c>/metrics</c>, <c>/stats</c>, <c>/admin</c>…), which Kestrel's way in answers in its own way (the answer, or 404
    /// through a proxy); matched as routing does, ignoring case, the path itself or below it.
    /// </summary>
    private sealed class EndpointPaths
    {
        private readonly byte[][] _segments;
        private readonly bool _all;

        private EndpointPaths(byte[][] segments, bool all)
        {
            _segments = segments;
            _all = all;
        }

        public static EndpointPaths From(EndpointDataSource? endpoints)
        {
            var segments = new List<byte[]>();
            var all = false;
            foreach (var endpoint in endpoints?.Endpoints ?? [])
            {
                if (endpoint is not RouteEndpoint route)
                {
                    continue;
                }

                var pattern = route.RoutePattern;
                if (pattern.PathSegments.Count == 0)
                {
                    // "/" itself.
                    segments.Add([]);
                    continue;
                }

                var first = pattern.PathSegments[0];
                if (first.IsSimple && first.Parts[0] is RoutePatternLiteralPart literal)
                {
                    segments.Add(Encoding.ASCII.GetBytes(literal.Content));
                }
                else if (!(first.IsSimple && first.Parts[0] is RoutePatternParameterPart { IsCatchAll: true }))
                {
                    // A pattern starting with a parameter could match anything: every request goes to Kestrel's way in.
                    all = true;
                }
            }

            return new EndpointPaths([.. segments], all);
        }

        /// <summary>Whether an endpoint could match <paramref name="path"/>.</summary>
        public bool Matches(ReadOnlySpan<byte> path)
        {
            if (_all)
            {
                return true;
            }

            var segment = path[1..];
            var slash = segment.IndexOf((byte)'/');
            if (slash >= 0)
            {
                segment = segment[..slash];
            }

            foreach (var known in _segments)
            {
                if (known.Length == segment.Length && Ascii.EqualsIgnoreCase(segment, known))
                {
                    return true;
                }
            }

            return false;
        }
    }

    private static string Text(ReadOnlySpan<byte> value) => value.IsEmpty ? "" : Encoding.ASCII.GetString(value);

    private static bool StartsWithAny(ReadOnlySpan<char> path, ImmutableArray<string> prefixes)
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

/// <summary>
/// A file's answer head on the connection path, built once per cache entry: Kestrel's head for the same answer of
/// <see cref="StaticSiteMiddleware"/>, in Kestrel's order (its known headers first, then the others as they were set),
/// with the Date of the current second and, when the connection closes, <c>Connection: close</c> put in per answer.
/// </summary>
internal sealed class ConnectionHead
{
    private static readonly byte[] CloseLine = "Connection: close\r\n"u8.ToArray();

    // "HTTP/1.1 200 OK", Content-Length | Connection | Content-Type, "Date: " | date | the rest, up to the blank line.
    private readonly byte[] _bytes;
    private readonly int _beforeConnection;
    private readonly int _beforeDate;

    private ConnectionHead(byte[] bytes, int beforeConnection, int beforeDate)
    {
        _bytes = bytes;
        _beforeConnection = beforeConnection;
        _beforeDate = beforeDate;
    }

    /// <summary>The longest head this writes.</summary>
    public int MaxLength => _bytes.Length + CloseLine.Length + HttpDate.Length;

    public static ConnectionHead Build(StaticFile file, ImmutableArray<(string Name, string Value)> securityHeaders, string nodeName, bool serverHeader)
    {
        var start = string.Create(CultureInfo.InvariantCulture, $"HTTP/1.1 200 OK\r\nContent-Length: {file.Identity.Length}\r\n");
        var type = $"Content-Type: {file.ContentType}\r\nDate: ";
        var rest = new StringBuilder("\r\n");
        if (serverHeader)
        {
            rest.Append("Server: Kestrel\r\n");
        }

        rest.Append("Accept-Ranges: bytes\r\n")
            .Append("Cache-Control: ").Append(file.CacheControl).Append("\r\n")
            .Append("ETag: ").Append(file.Identity.ETag.ToString()).Append("\r\n")
            .Append("Last-Modified: ").Append(file.LastModifiedHeader).Append("\r\n");
        if (file.Negotiable)
        {
            rest.Append("Vary: Accept-Encoding\r\n");
        }

        rest.Append("X-Served-By: ").Append(nodeName).Append("\r\n")
            .Append("X-Content-Type-Options: nosniff\r\n");
        foreach (var (name, value) in securityHeaders)
        {
            // As the security headers' TryAdd: never one the answer already has.
            if (!IsWritten(name, file.Negotiable, serverHeader))
            {
                rest.Append(name).Append(": ").Append(value).Append("\r\n");
            }
        }

        rest.Append("\r\n");
        var bytes = Encoding.Latin1.GetBytes(start + type + rest);
        return new ConnectionHead(bytes, start.Length, start.Length + type.Length);
    }

    /// <summary>Writes the head into <paramref name="destination"/> (at least <see cref="MaxLength"/> long); returns its length.</summary>
    public int Write(Span<byte> destination, bool close)
    {
        var bytes = _bytes.AsSpan();
        bytes[.._beforeConnection].CopyTo(destination);
        var length = _beforeConnection;
        if (close)
        {
            CloseLine.CopyTo(destination[length..]);
            length += CloseLine.Length;
        }

        bytes[_beforeConnection.._beforeDate].CopyTo(destination[length..]);
        length += _beforeDate - _beforeConnection;
        HttpDate.Current.CopyTo(destination[length..]);
        length += HttpDate.Length;
        bytes[_beforeDate..].CopyTo(destination[length..]);
        return length + bytes.Length - _beforeDate;
    }

    private static bool IsWritten(string name, bool vary, bool server) =>
        name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Date", StringComparison.OrdinalIgnoreCase) || (server && name.Equals("Server", StringComparison.OrdinalIgnoreCase))
        || name.Equals("Accept-Ranges", StringComparison.OrdinalIgnoreCase) || name.Equals("Cache-Control", StringComparison.OrdinalIgnoreCase)
        || name.Equals("ETag", StringComparison.OrdinalIgnoreCase) || name.Equals("Last-Modified", StringComparison.OrdinalIgnoreCase)
        || (vary && name.Equals("Vary", StringComparison.OrdinalIgnoreCase)) || name.Equals("X-Served-By", StringComparison.OrdinalIgnoreCase)
        || name.Equals("X-Content-Type-Options", StringComparison.OrdinalIgnoreCase);
}
