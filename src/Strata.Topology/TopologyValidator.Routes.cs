using System.Collections.Immutable;
using System.Text.RegularExpressions;

namespace Strata.Topology;

/// <summary>The checks of named pools (web.pools, app.pools) and of the routes and rules in front of them (loadBalancers.routes, web.routes).</summary>
internal sealed partial class TopologyValidator
{
    // Written by the proxy itself or framing the message: a rule may not touch them (docs/routing.md).
    private static readonly string[] ReservedHeaders =
    [
        "Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer",
        "Upgrade", "Via", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host",
    ];

    private static readonly string[] RedirectVariables = ["$scheme", "$host", "$request_uri"];

    private ImmutableArray<PoolSpec> Pools(IReadOnlyDictionary<string, PoolOptions>? given, string tierField, NodeRole role)
    {
        var pools = ImmutableArray.CreateBuilder<PoolSpec>();
        foreach (var (name, pool) in given ?? new Dictionary<string, PoolOptions>())
        {
            var field = $"{tierField}.pools.{name}";
            if (!NodeNameRegex().IsMatch(name) || name is "web" or "app")
            {
                Error(field, $"'{name}' is not a pool name (lower-case letters, digits and '-', starting with a letter; not \"web\" or \"app\")");
                continue;
            }

            if (pool is null)
            {
                Error(field, "must be an object with nodes");
                continue;
            }

            pools.Add(new PoolSpec(name, Nodes(pool, field, role), Backend(pool, field)));
        }

        return pools.ToImmutable();
    }

    private ImmutableArray<RouteSpec> Routes(IReadOnlyList<RouteOptions>? given, string tierField, string defaultPool, ImmutableArray<PoolSpec> pools)
    {
        var routes = ImmutableArray.CreateBuilder<RouteSpec>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (given?.Count ?? 0); i++)
        {
            var route = given![i];
            var field = $"{tierField}.routes[{i}]";
            if (route is null)
            {
                Error(field, "must be an object with match, pool and rules");
                continue;
            }

            var name = route.Name ?? $"route-{i + 1}";
            if (!NodeNameRegex().IsMatch(name) || !names.Add(name))
            {
                Error($"{field}.name", $"'{name}' is not a route name, or is used twice (lower-case letters, digits and '-', starting with a letter)");
            }

            var pool = route.Pool ?? defaultPool;
            if (pool != defaultPool && !pools.Any(p => p.Name == pool))
            {
                Error($"{field}.pool", $"'{pool}' is not a pool behind {tierField}; the pools are: {string.Join(", ", [defaultPool, .. pools.Select(p => p.Name)])}");
            }

            var request = Rules(route.Request, $"{field}.request", response: false);
            var response = Rules(route.Response, $"{field}.response", response: true).Cast<HeaderRule>().ToImmutableArray();
            routes.Add(new RouteSpec(name, Match(route.Match, $"{field}.match"), pool, request, response));
        }

        return routes.ToImmutable();
    }

    private RouteMatchSpec Match(RouteMatchOptions? match, string field)
    {
        if (match is null)
        {
            return RouteMatchSpec.All;
        }

        var hosts = ImmutableArray.CreateBuilder<string>();
        foreach (var host in match.Hosts ?? [])
        {
            var name = host?.Trim().TrimEnd('.').ToLowerInvariant() ?? "";
            var bare = name.StartsWith("*.", StringComparison.Ordinal) ? name[2..] : name;
            if (!DnsNameRegex().IsMatch(bare))
            {
                Error($"{field}.hosts", $"'{host}' is not a host name or a wildcard such as \"*.foobar.com\"");
            }

            hosts.Add(name);
        }

        foreach (var path in (match.Paths ?? []).Where(p => p is null || !p.StartsWith('/') || p.Any(char.IsControl)))
        {
            Error($"{field}.paths", $"'{path}' is not a path prefix (it must start with '/')");
        }

        foreach (var method in (match.Methods ?? []).Where(m => m is null || !HttpTokenRegex().IsMatch(m)))
        {
            Error($"{field}.methods", $"'{method}' is not an HTTP method");
        }

        foreach (var (name, value) in match.Headers ?? new Dictionary<string, string>())
        {
            HeaderName(name, $"{field}.headers", reservedToo: true);
            HeaderValue(value, $"{field}.headers.{name}");
        }

        return new RouteMatchSpec(
            hosts.ToImmutable(),
            [.. match.Paths ?? []],
            [.. (match.Methods ?? []).Select(m => m?.ToUpperInvariant() ?? "")],
            [.. match.Headers ?? new Dictionary<string, string>()]);
    }

    private ImmutableArray<RuleSpec> Rules(IReadOnlyList<RuleOptions>? given, string field, bool response)
    {
        var rules = ImmutableArray.CreateBuilder<RuleSpec>();
        for (var i = 0; i < (given?.Count ?? 0); i++)
        {
            var rule = given![i];
            var ruleField = $"{field}[{i}]";
            var actions = rule is null ? 0 : new object?[] { rule.Redirect, rule.Return, rule.Allow, rule.Deny, rule.Limit, rule.SetHeaders, rule.AddHeaders, rule.RemoveHeaders }.Count(a => a is not null);
            if (rule is null || actions != 1)
            {
                Error(ruleField, "must have exactly one action: redirect, return, allow, deny, limit, setHeaders, addHeaders or removeHeaders");
                continue;
            }

            if (response && (rule.Redirect ?? (object?)rule.Return ?? rule.Allow ?? rule.Deny ?? (object?)rule.Limit) is not null)
            {
                Error(ruleField, "a response rule can only set, add or remove headers (setHeaders, addHeaders, removeHeaders)");
                continue;
            }

            if (rule.Status is not null && rule.Redirect is null)
            {
                Error($"{ruleField}.status", "goes with redirect (return takes its status as its value)");
            }

            if ((rule.Body ?? rule.ContentType) is not null && rule.Return is null)
            {
                Error(ruleField, "body and contentType go with return");
            }

            if (rule.Redirect is { } location)
            {
                rules.Add(Redirect(location, rule.Status ?? 302, ruleField));
            }
            else if (rule.Return is { } status)
            {
                var contentType = rule.ContentType ?? "text/plain; charset=utf-8";
                HeaderValue(contentType, $"{ruleField}.contentType");
                rules.Add(new ReturnRule(InRange(status, $"{ruleField}.return", 200, 599), rule.Body ?? "", contentType));
            }
            else if (rule.Allow is not null || rule.Deny is not null)
            {
                var allow = rule.Allow is not null;
                var listField = $"{ruleField}.{(allow ? "allow" : "deny")}";
                var clients = Networks(rule.Allow ?? rule.Deny, listField, allowAll: true);
                if ((rule.Allow ?? rule.Deny)!.Count == 0)
                {
                    Error(listField, "must list at least one address, CIDR range or \"all\"");
                }

                rules.Add(new AccessRule(allow, clients));
            }
            else if (rule.Limit is { } limit)
            {
                if (limit.Rate is null)
                {
                    Error($"{ruleField}.limit.rate", "is required: the requests per second a client may keep up");
                }

                var rate = InRange(limit.Rate ?? 1, $"{ruleField}.limit.rate", 1, 1_000_000);
                var burst = limit.Burst is { } wanted ? InRange(wanted, $"{ruleField}.limit.burst", 1, 1_000_000) : Math.Clamp(rate, 1, 1_000_000);
                rules.Add(new RateLimitRule(rate, burst));
            }
            else
            {
                HeaderRules(rule, ruleField, rules);
            }
        }

        return rules.ToImmutable();
    }

    private RedirectRule Redirect(string location, int status, string field)
    {
        if (status is not (301 or 302 or 303 or 307 or 308))
        {
            Error($"{field}.status", $"{status} is not a redirect status (301, 302, 303, 307 or 308)");
        }

        var unknown = RedirectVariableRegex().Matches(location).Select(m => m.Value).FirstOrDefault(v => !RedirectVariables.Contains(v, StringComparer.Ordinal));
        if (string.IsNullOrWhiteSpace(location) || location.Any(char.IsControl) || unknown is not null)
        {
            Error($"{field}.redirect", unknown is not null
                ? $"'{unknown}' is not a variable; the variables are: {string.Join(", ", RedirectVariables)}"
                : $"'{location}' is not a location (a URL or path without control characters)");
        }

        return new RedirectRule(status, location);
    }

    private void HeaderRules(RuleOptions rule, string field, ImmutableArray<RuleSpec>.Builder rules)
    {
        foreach (var (action, headers, key) in new[] { (HeaderAction.Set, rule.SetHeaders, "setHeaders"), (HeaderAction.Add, rule.AddHeaders, "addHeaders") })
        {
            foreach (var (name, value) in headers ?? new Dictionary<string, string>())
            {
                if (HeaderName(name, $"{field}.{key}", reservedToo: false) && HeaderValue(value, $"{field}.{key}.{name}"))
                {
                    rules.Add(new HeaderRule(action, name, value));
                }
            }
        }

        foreach (var name in rule.RemoveHeaders ?? [])
        {
            if (HeaderName(name, $"{field}.removeHeaders", reservedToo: false))
            {
                rules.Add(new HeaderRule(HeaderAction.Remove, name, ""));
            }
        }
    }

    private bool HeaderName(string? name, string field, bool reservedToo)
    {
        if (name is null || !HttpTokenRegex().IsMatch(name))
        {
            Error(field, $"'{name}' is not a header name");
            return false;
        }

        if (!reservedToo && ReservedHeaders.Contains(name, StringComparer.OrdinalIgnoreCase))
        {
            Error(field, $"'{name}' is written by the proxy itself or frames the message; the reserved names are: {string.Join(", ", ReservedHeaders)}");
            return false;
        }

        return true;
    }

    private bool HeaderValue(string? value, string field)
    {
        // RFC 9110 §5.5: no control character but HTAB, no DEL (what RequestScreen refuses from clients).
        if (value is null || value.Any(c => c is < ' ' and not '\t' or '\x7f' or > '\xff'))
        {
            Error(field, $"'{value}' is not a header value (no control characters or characters outside Latin-1)");
            return false;
        }

        return true;
    }

    [GeneratedRegex(@"\$[a-z_]+")]
    private static partial Regex RedirectVariableRegex();
}
