using System.Collections.Immutable;
using System.Globalization;

namespace Strata.Topology;

/// <summary>The checks of the web section: the files and how they are served.</summary>
internal sealed partial class TopologyValidator
{
    private string? WebRoot(string? root)
    {
        var path = Path.GetFullPath(Path.Combine(_baseDirectory, root ?? "wwwroot"));
        if (!Directory.Exists(path))
        {
            Error("web.root", $"directory '{path}' does not exist");
            return null;
        }

        return path;
    }

    private WebSpec Web(WebTierOptions? options)
    {
        var d = WebSpec.Default;
        var s = options?.Static;
        var client = options?.Client;
        var spec = new WebSpec
        {
            AppPrefixes = Prefixes(s?.AppPrefixes, d.AppPrefixes, "web.static.appPrefixes"),
            StaticPrefixes = Prefixes(s?.StaticPrefixes, d.StaticPrefixes, "web.static.staticPrefixes"),
            Index = s?.Index ?? d.Index,
            FollowSymlinksOutOfRoot = s?.FollowSymlinksOutOfRoot ?? d.FollowSymlinksOutOfRoot,
            CompressMinBytes = InRange(s?.CompressMinBytes ?? d.CompressMinBytes, "web.static.compressMinBytes", 0, int.MaxValue),
            MemoryCacheBytes = LongInRange(s?.MemoryCacheBytes ?? d.MemoryCacheBytes, "web.static.memoryCacheBytes", 0, 16L << 30),
            MemoryCacheMaxFileBytes = LongInRange(s?.MemoryCacheMaxFileBytes ?? d.MemoryCacheMaxFileBytes, "web.static.memoryCacheMaxFileBytes", 0, 1L << 30),
            RevalidateMs = InRange(s?.RevalidateMs ?? d.RevalidateMs, "web.static.revalidateMs", 0, 3_600_000),
            CacheControl = [.. (s?.CacheControl ?? new Dictionary<string, string>())
                .Where(rule => CacheRule(rule.Key, rule.Value))
                .OrderByDescending(rule => rule.Key.Length)
                .Select(rule => (rule.Key, rule.Value))],
            MaxBodyBytes = LongInRange(client?.MaxBodyBytes ?? d.MaxBodyBytes, "web.client.maxBodyBytes", 0, 1L << 40),
            MaxRequestLineBytes = InRange(client?.MaxRequestLineBytes ?? d.MaxRequestLineBytes, "web.client.maxRequestLineBytes", 256, 1 << 20),
            MaxHeaderBytes = InRange(client?.MaxHeaderBytes ?? d.MaxHeaderBytes, "web.client.maxHeaderBytes", 1024, 1 << 24),
            MinBodyBytesPerSecond = InRange(client?.MinBodyBytesPerSecond ?? d.MinBodyBytesPerSecond, "web.client.minBodyBytesPerSecond", 0, int.MaxValue),
            ErrorPages = ErrorPages(options?.ErrorPages),
            AccessLogFormat = options?.AccessLog?.Format ?? d.AccessLogFormat,
            SecurityHeaders = SecurityHeaders(options?.SecurityHeaders),
        };
        if (s?.Index is { } index && (index.Length == 0 || index.IndexOfAny(['/', '\\']) >= 0 || index.StartsWith('.')))
        {
            Error("web.static.index", $"'{index}' must be a file name (no '/', not hidden)");
        }

        if (spec.AccessLogFormat is not ("combined" or "json" or "off"))
        {
            Error("web.accessLog.format", $"'{spec.AccessLogFormat}' is not a format; the formats are: combined, json, off");
        }

        var logPath = options?.AccessLog?.Path ?? Path.Combine(".strata", "logs", "{node}.access.log");
        return spec.AccessLogFormat == "off" ? spec : spec with { AccessLogPath = Path.GetFullPath(Path.Combine(_baseDirectory, logPath)) };
    }

    /// <summary>The policy tokens of the W3C Referrer Policy (§3).</summary>
    private static readonly string[] ReferrerPolicies =
    [
        "no-referrer", "no-referrer-when-downgrade", "same-origin", "origin", "strict-origin", "origin-when-cross-origin",
        "strict-origin-when-cross-origin", "unsafe-url",
    ];

    private ImmutableArray<(string Name, string Value)> SecurityHeaders(SecurityHeadersOptions? given)
    {
        // In the order of WebSpec's defaults, whose names and values they take.
        (string Field, string? Value, Func<string, bool> Valid, string Rule)[] fields =
        [
            ("contentSecurityPolicy", given?.ContentSecurityPolicy, v => v.Trim().Length > 0 && v.All(c => c is >= ' ' and <= '~'), "must be a policy in printable ASCII"),
            ("referrerPolicy", given?.ReferrerPolicy, v => v.Split(',').All(t => ReferrerPolicies.Contains(t.Trim())), $"must be one of {string.Join(", ", ReferrerPolicies)} (or a comma-separated list of them)"),
            ("frameOptions", given?.FrameOptions, v => v is "DENY" or "SAMEORIGIN", "must be DENY or SAMEORIGIN (ALLOW-FROM is obsolete: use frame-ancestors in the policy)"),
            ("contentTypeOptions", given?.ContentTypeOptions, v => v == "nosniff", "must be nosniff"),
        ];
        var headers = ImmutableArray.CreateBuilder<(string Name, string Value)>();
        foreach (var ((field, value, valid, rule), (name, fallback)) in fields.Zip(WebSpec.Default.SecurityHeaders))
        {
            if (value is "")
            {
                continue;
            }

            if (value is not null && !valid(value))
            {
                Error($"web.securityHeaders.{field}", $"'{value}' {rule}; \"\" leaves the header out");
                continue;
            }

            headers.Add((name, value ?? fallback));
        }

        return headers.ToImmutable();
    }

    private ImmutableArray<string> Prefixes(IReadOnlyList<string>? given, ImmutableArray<string> fallback, string field)
    {
        if (given is null)
        {
            return fallback;
        }

        for (var i = 0; i < given.Count; i++)
        {
            if (!given[i].StartsWith('/'))
            {
                Error($"{field}[{i}]", $"'{given[i]}' must start with '/'");
            }
        }

        return [.. given];
    }

    private bool CacheRule(string prefix, string value)
    {
        if (!prefix.StartsWith('/'))
        {
            Error($"web.static.cacheControl.{prefix}", "the path prefix must start with '/'");
            return false;
        }

        if (string.IsNullOrWhiteSpace(value) || value.Any(char.IsControl))
        {
            Error($"web.static.cacheControl.{prefix}", $"'{value}' is not a Cache-Control value");
            return false;
        }

        return true;
    }

    private ImmutableDictionary<string, string> ErrorPages(IReadOnlyDictionary<string, string>? given)
    {
        var pages = ImmutableDictionary.CreateBuilder<string, string>();
        foreach (var (status, page) in given ?? new Dictionary<string, string>())
        {
            var field = $"web.errorPages.{status}";
            if (!(status is "50x" || (int.TryParse(status, NumberStyles.None, CultureInfo.InvariantCulture, out var code) && code is >= 400 and <= 599)))
            {
                Error(field, $"'{status}' is not an error status (400-599, or 50x for all of 500-599)");
            }
            else if (!page.StartsWith('/') || page.Contains("..", StringComparison.Ordinal))
            {
                Error(field, $"'{page}' must be a path under the web root, starting with '/'");
            }
            else
            {
                pages[status] = page;
            }
        }

        return pages.ToImmutable();
    }
}
