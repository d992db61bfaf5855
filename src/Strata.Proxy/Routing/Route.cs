using System.Net;
using System.Text;
using Strata.Proxy.Upstreams;
using Strata.Topology;

namespace Strata.Proxy.Routing;

/// <summary>What a route's request rules decided: forward (<see cref="Status"/> 0), or answer here.</summary>
/// <param name="Status">0 to forward; else the status answered.</param>
/// <param name="Location">A redirect's Location.</param>
/// <param name="Body">A fixed answer's body; for 403 the reason.</param>
/// <param name="ContentType">A fixed answer's Content-Type.</param>
internal readonly record struct RuleAnswer(int Status, string? Location = null, string Body = "", string? ContentType = null, int RetryAfter = 0)
{
    public bool Forwards => Status == 0;
}

/// <summary>
/// A compiled route: its conditions, its pool, and its rules reduced for the request path — the access rules before
/// the first answering rule, that rule (redirect or return, if any), and the header edits of each direction.
/// </summary>
internal sealed class Route
{
    private readonly RouteMatchSpec _match;
    private readonly AccessRule[] _access;
    private readonly ClientRateLimiter[] _limits;
    private readonly RuleSpec? _answer;

    /// <param name="spec">The route.</param>
    /// <param name="pool">Its pool.</param>
    /// <param name="limiters">The node's limits by name (<see cref="RateLimitTables"/>), this route's among them.</param>
    public Route(RouteSpec spec, UpstreamPool pool, IReadOnlyDictionary<string, ClientRateLimiter> limiters)
    {
        Name = spec.Name;
        Pool = pool;
        _match = spec.Match;
        var access = new List<AccessRule>();
        var limits = new List<ClientRateLimiter>();
        foreach (var rule in spec.Request)
        {
            if (rule is AccessRule accessRule)
            {
                access.Add(accessRule);
            }
            else if (rule is RateLimitRule)
            {
                limits.Add(limiters[$"{spec.Name}#{limits.Count}"]);
            }
            else if (rule is RedirectRule or ReturnRule)
            {
                // Rules after an answer are never reached.
                _answer = rule;
                break;
            }
        }

        _access = [.. access];
        _limits = [.. limits];
        RequestEdits = HeaderEdits.Compile(spec.Request.TakeWhile(r => r is not (RedirectRule or ReturnRule)).OfType<HeaderRule>());
        ResponseEdits = HeaderEdits.Compile(spec.Response);
        AnswersOrDenies = _access.Length > 0 || _limits.Length > 0 || _answer is not null;
    }

    /// <summary>The route of requests no other route takes: the default pool, no rules.</summary>
    public Route(UpstreamPool pool)
    {
        Name = "default";
        IsDefault = true;
        Pool = pool;
        _match = RouteMatchSpec.All;
        _access = [];
        _limits = [];
        RequestEdits = ResponseEdits = HeaderEdits.None;
    }

    public string Name { get; }

    /// <summary>Whether this is the route of requests no configured route takes.</summary>
    public bool IsDefault { get; }

    public UpstreamPool Pool { get; }

    public HeaderEdits RequestEdits { get; }

    public HeaderEdits ResponseEdits { get; }

    /// <summary>Whether a request may be answered here rather than forwarded (access, limit, redirect or return rules).</summary>
    public bool AnswersOrDenies { get; }

    /// <summary>Whether <paramref name="request"/> meets every condition.</summary>
    public bool Matches<TRequest>(TRequest request)
        where TRequest : IRoutedRequest
    {
        var match = _match;
        if (!match.Schemes.IsEmpty && !match.Schemes.Contains(request.Scheme))
        {
            return false;
        }

        if (!match.ExceptPaths.IsEmpty && MatchesPath(match.ExceptPaths, request.Path))
        {
            return false;
        }

        if (!match.Methods.IsEmpty && !match.Methods.Contains(request.Method))
        {
            return false;
        }

        if (!match.Hosts.IsEmpty && !MatchesHost(match.Hosts, HostName(request.Host)))
        {
            return false;
        }

        if (!match.Paths.IsEmpty && !MatchesPath(match.Paths, request.Path))
        {
            return false;
        }

        foreach (var (name, value) in match.Headers)
        {
            var actual = request.Header(name);
            if (actual is null || (value != "*" && !string.Equals(actual.Trim(), value, StringComparison.Ordinal)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>What the request rules decide for <paramref name="request"/>.</summary>
    public RuleAnswer Decide<TRequest>(TRequest request)
        where TRequest : IRoutedRequest
    {
        if (!AnswersOrDenies)
        {
            return default;
        }

        var peer = request.Peer is { IsIPv4MappedToIPv6: true } mapped ? mapped.MapToIPv4() : request.Peer;
        foreach (var rule in _access)
        {
            if (peer is not null && Contains(rule.Clients, peer))
            {
                if (!rule.Allow)
                {
                    return new RuleAnswer(403, Body: $"access denied by route {Name}");
                }

                break;
            }
        }

        // After the access rules (a denied client is not counted), before the answer: a client over a limit is answered 429.
        if (_limits.Length > 0 && request.LimitedClient is { } client)
        {
            var now = RateLimitTables.Now;
            foreach (var limit in _limits)
            {
                if (!limit.TryTake(client, now, out var retryAfter))
                {
                    return new RuleAnswer(429, Body: $"too many requests (route {Name})", ContentType: "text/plain; charset=utf-8", RetryAfter: retryAfter);
                }
            }
        }

        return _answer switch
        {
            RedirectRule redirect => new RuleAnswer(redirect.Status, Location: Expand(redirect.Location, request)),
            ReturnRule fixedAnswer => new RuleAnswer(fixedAnswer.Status, Body: fixedAnswer.Body, ContentType: fixedAnswer.ContentType),
            _ => default,
        };
    }

    /// <summary>The host name of a Host value: no port, no trailing dot, lower case (nginx's <c>$host</c>).</summary>
    public static string HostName(string host)
    {
        var end = host.StartsWith('[') ? host.IndexOf(']') + 1 : host.LastIndexOf(':');
        var name = (end > 0 ? host[..end] : host).TrimEnd('.');
        return name.ToLowerInvariant();
    }

    private static bool MatchesHost(System.Collections.Immutable.ImmutableArray<string> hosts, string host)
    {
        foreach (var pattern in hosts)
        {
            if (pattern.StartsWith("*.", StringComparison.Ordinal)
                ? host.Length > pattern.Length - 1 && host.EndsWith(pattern.AsSpan(1), StringComparison.Ordinal)
                : string.Equals(host, pattern, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static bool MatchesPath(System.Collections.Immutable.ImmutableArray<string> prefixes, string path)
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

    private static bool Contains(System.Collections.Immutable.ImmutableArray<IPNetwork> networks, IPAddress address)
    {
        foreach (var network in networks)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    private static string Expand<TRequest>(string location, TRequest request)
        where TRequest : IRoutedRequest
    {
        if (!location.Contains('$', StringComparison.Ordinal))
        {
            return location;
        }

        return new StringBuilder(location)
            .Replace("$scheme", request.Scheme)
            .Replace("$request_uri", request.RequestUri)
            .Replace("$host", HostName(request.Host))
            .ToString();
    }
}
