using System.Collections.Immutable;
using System.Text.RegularExpressions;
using Strata.Topology;
using static Strata.Export.ConfigWriter;

namespace Strata.Export.Haproxy;

// loadBalancers.routes in the VIP frontend, and web.pools as backends (docs/export.md, "Routes and rules").
public static partial class HaproxyConfig
{
    /// <summary>What maps only approximately once the load balancers have routes (the file's header lists them).</summary>
    private static IEnumerable<string> RouteApproximations(Topology.Topology topology) => topology.LoadBalancerRoutes.IsEmpty
        ? []
        :
        [
            "loadBalancers.routes paths: matched on `path,url_dec`, percent-decoded (%2F too) but not normalized (dot segments, double slashes) as Strata's decoded path is.",
            "loadBalancers.routes headers: each line of a repeated header is compared alone (Strata joins the lines with \", \").",
            "loadBalancers.routes response rules: `http-response` edits the web servers' answers, not the 503 HAProxy writes itself when no server is up.",
            "loadBalancers.routes deny and return: HAProxy's own 403 page; a return with an empty body has no Content-Type.",
            .. topology.LoadBalancerRoutes.Any(r => r.Request.Any(q => q is RateLimitRule))
                ? ["loadBalancers.routes limit: a stick table's sliding window of burst/rate seconds allowing `burst` requests (Strata: a token bucket of `burst`, refilled at `rate`/s); Retry-After is always 1; at most 3 limits per route (HAProxy's sc0-sc2)."]
                : Array.Empty<string>(),
        ];

    /// <summary>
    /// The route a request takes: the first route whose conditions hold writes its name in txn.strata_route, which
    /// later routes test first, so every rule and <c>use_backend</c> below (ACL route_NAME) sees only the first match.
    /// Before the forwarding headers are rewritten: conditions read the request as the client sent it, as Strata's.
    /// </summary>
    private static void WriteRouteSelection(ConfigWriter w, ImmutableArray<RouteSpec> routes)
    {
        if (routes.IsEmpty)
        {
            return;
        }

        w.Comment("loadBalancers.routes, first match first: the first route whose conditions hold sets txn.strata_route, and each");
        w.Comment("route's rules and use_backend test it (route_NAME), so no request gets a later route's rules.");
        foreach (var route in routes)
        {
            var acl = "route_" + route.Name;
            w.Line($"acl {acl} var(txn.strata_route) -m str {route.Name}");
            foreach (var host in route.Match.Hosts)
            {
                // "*.name": any subdomain of name, not name itself.
                w.Line(host.StartsWith("*.", StringComparison.Ordinal)
                    ? $"acl {acl}_host var(txn.strata_host) -m end {host[1..]}"
                    : $"acl {acl}_host var(txn.strata_host) -m str {host}");
            }

            if (!route.Match.Paths.IsEmpty)
            {
                w.Line($"acl {acl}_path path,url_dec -m beg {string.Join(' ', route.Match.Paths.Select(Quote))}");
            }

            if (!route.Match.Schemes.IsEmpty)
            {
                w.Line($"acl {acl}_scheme ssl_fc,iif(https,http) -m str {string.Join(' ', route.Match.Schemes)}");
            }

            if (!route.Match.ExceptPaths.IsEmpty)
            {
                w.Line($"acl {acl}_except path,url_dec -m beg {string.Join(' ', route.Match.ExceptPaths.Select(Quote))}");
            }

            if (!route.Match.Methods.IsEmpty)
            {
                w.Line($"acl {acl}_method method {string.Join(' ', route.Match.Methods)}");
            }

            var header = 0;
            foreach (var (name, value) in route.Match.Headers)
            {
                // req.fhdr: the whole line, not split at commas as req.hdr is; "--" ends the flags before a value such as "-1".
                w.Line(value == "*"
                    ? $"acl {acl}_header{++header} req.fhdr({name}) -m found"
                    : $"acl {acl}_header{++header} req.fhdr({name}) -m str -- {Quote(value)}");
            }

            var access = 0;
            foreach (var rule in Reached(route.Request).OfType<AccessRule>())
            {
                w.Line($"acl {acl}_access{++access} src {string.Join(' ', rule.Clients)}");
            }
        }

        w.Comment("txn.strata_host is nginx's $host: the Host header without its port or final dot, in lower case.");
        w.Line("http-request set-var(txn.strata_host) req.hdr(host),field(1,:),lower,regsub([.]$,)");
        foreach (var route in routes)
        {
            w.Line($"http-request set-var(txn.strata_route) str({route.Name}) if !{{ var(txn.strata_route) -m found }}{Conditions(route)}");
        }
    }

    /// <summary>Each route's request and response rules, guarded by route_NAME, then its <c>use_backend</c>.</summary>
    /// <param name="firstCounter">The first stick counter the routes' limits may track (0 unless the VIP's per-client connection limit holds it).</param>
    /// <param name="trusted">Whether the acl strata_trusted (loadBalancers.trustedProxies) exists: a limit then counts the address such a proxy forwards for.</param>
    private static void WriteRouteRules(ConfigWriter w, ImmutableArray<RouteSpec> routes, int firstCounter, bool trusted)
    {
        foreach (var route in routes)
        {
            var acl = "route_" + route.Name;
            w.Comment($"route {route.Name}: pool {route.Pool}");
            // Access rules as nginx's allow/deny: the first whose clients include the client decides, so a deny
            // applies only to clients no earlier allow let through (an earlier deny has already answered them).
            var allowed = "";
            var access = 0;
            var limits = firstCounter;
            foreach (var rule in Reached(route.Request))
            {
                switch (rule)
                {
                    case AccessRule { Allow: true }:
                        allowed += $"!{acl}_access{++access} ";
                        break;
                    case AccessRule:
                        w.Line($"http-request deny deny_status 403 if {acl} {allowed}{acl}_access{++access}");
                        break;
                    case RedirectRule redirect:
                        w.Line($"http-request redirect code {redirect.Status} location {Location(redirect.Location)} if {acl}");
                        break;
                    case ReturnRule answer:
                        w.Line($"http-request return status {answer.Status}{Payload(answer)} if {acl}");
                        break;
                    case HeaderRule header:
                        w.Line($"{HeaderEdit("http-request", header)} if {acl}");
                        break;
                    case RateLimitRule limit when limits < MaxTrackedCounters:
                        // Its stick table is a backend of its own (WriteLimitTables); sc_http_req_rate counts this request too.
                        var table = LimitTable(route, limits - firstCounter);
                        if (trusted)
                        {
                            // Behind a trusted proxy, the address it appended last (Strata reads further left past trusted proxies; a counter is tracked once, by the first rule that matches).
                            w.Line($"http-request track-sc{limits} req.hdr_ip(X-Forwarded-For,-1) table {table} if {acl} strata_trusted {{ req.hdr_ip(X-Forwarded-For,-1) -m found }}");
                        }

                        w.Line($"http-request track-sc{limits} src table {table} if {acl}");
                        w.Line(Invariant($"http-request deny deny_status 429 hdr Retry-After 1 if {acl} {{ sc_http_req_rate({limits},{table}) gt {limit.Burst} }}"));
                        limits++;
                        break;
                    case RateLimitRule limit:
                        w.Comment($"note: limit ({limit.Rate}/s, burst {limit.Burst}) not exported: HAProxy tracks at most {MaxTrackedCounters} counters per request{(firstCounter > 0 ? ", and the VIP's per-client connection limit holds one" : "")}.");
                        break;
                }
            }

            foreach (var header in route.Response)
            {
                w.Line($"{HeaderEdit("http-response", header)} if {acl}");
            }
        }

        foreach (var route in routes)
        {
            w.Line($"use_backend {route.Pool} if route_{route.Name}");
        }
    }

    /// <summary>A request's stick counters in HAProxy 2.6 (tune.stick-counters is 2.8's).</summary>
    private const int MaxTrackedCounters = 3;

    private static string LimitTable(RouteSpec route, int index) => Invariant($"strata_limit_{route.Name}_{index + 1}");

    /// <summary>
    /// A stick table per <c>limit</c> rule (the first <see cref="MaxTrackedCounters"/> of a route): client addresses
    /// with their request rate over burst/rate seconds, 64k of them as Strata's buckets (the oldest evicted).
    /// </summary>
    private static void WriteLimitTables(ConfigWriter w, ImmutableArray<RouteSpec> routes, int firstCounter)
    {
        foreach (var route in routes)
        {
            var index = 0;
            foreach (var limit in Reached(route.Request).OfType<RateLimitRule>().Take(MaxTrackedCounters - firstCounter))
            {
                var window = Invariant($"{Math.Max(1, (long)Math.Ceiling(limit.Burst * 1000.0 / limit.Rate))}ms");
                w.Line();
                w.Line($"backend {LimitTable(route, index++)}").Indent();
                w.Comment(Invariant($"route {route.Name}: limit {limit.Rate}/s, burst {limit.Burst}"));
                w.Line($"stick-table type ipv6 size 64k expire {window} store http_req_rate({window})");
                w.Outdent();
            }
        }
    }

    /// <summary>The request rules a request can reach: those up to the first redirect or return, which answers.</summary>
    private static IEnumerable<RuleSpec> Reached(IEnumerable<RuleSpec> rules)
    {
        foreach (var rule in rules)
        {
            yield return rule;
            if (rule is RedirectRule or ReturnRule)
            {
                yield break;
            }
        }
    }

    /// <summary>" ACL ACL...": every condition group of the route (ACLs of one name are ORed, of different names ANDed).</summary>
    private static string Conditions(RouteSpec route)
    {
        var acl = "route_" + route.Name;
        var match = route.Match;
        var conditions = new List<string>();
        if (!match.Hosts.IsEmpty)
        {
            conditions.Add(acl + "_host");
        }

        if (!match.Paths.IsEmpty)
        {
            conditions.Add(acl + "_path");
        }

        if (!match.Schemes.IsEmpty)
        {
            conditions.Add(acl + "_scheme");
        }

        if (!match.ExceptPaths.IsEmpty)
        {
            conditions.Add("!" + acl + "_except");
        }

        if (!match.Methods.IsEmpty)
        {
            conditions.Add(acl + "_method");
        }

        conditions.AddRange(match.Headers.Select((_, i) => ConfigWriter.Invariant($"{acl}_header{i + 1}")));
        return string.Concat(conditions.Select(c => " " + c));
    }

    private static string HeaderEdit(string direction, HeaderRule rule) => rule.Action switch
    {
        HeaderAction.Set => $"{direction} set-header {rule.Name} {LogFormat(rule.Value)}",
        HeaderAction.Add => $"{direction} add-header {rule.Name} {LogFormat(rule.Value)}",
        _ => $"{direction} del-header {rule.Name}",
    };

    /// <summary>A return's body: HAProxy refuses a payload with 204 and 304, and an empty <c>string</c> (an empty lf-string it takes).</summary>
    private static string Payload(ReturnRule answer) => answer.Status is 204 or 304
        ? ""
        : $" content-type {Quote(answer.ContentType)} " + (answer.Body.Length == 0 ? "lf-string '%[str()]'" : "string " + Quote(answer.Body));

    /// <summary>A redirect's location as a log-format: Strata's variables become sample fetches, the rest stays literal.</summary>
    private static string Location(string location) => Quote(string.Concat(RedirectVariableRegex().Split(location).Select(part => part switch
    {
        "$scheme" => "%[ssl_fc,iif(https,http)]",
        "$host" => "%[var(txn.strata_host)]",
        "$request_uri" => "%[pathq]",
        _ => part.Replace("%", "%%", StringComparison.Ordinal),
    })));

    /// <summary>A literal header value as a log-format string (where '%' starts a sample); empty is <c>%[str()]</c>, since HAProxy drops an empty word.</summary>
    private static string LogFormat(string value) => value.Length == 0 ? "'%[str()]'" : Quote(value.Replace("%", "%%", StringComparison.Ordinal));

    /// <summary>One word, in single quotes (nothing inside is interpreted), a quote itself written as '\'' as in a shell.</summary>
    private static string Quote(string value) => "'" + value.Replace("'", @"'\''", StringComparison.Ordinal) + "'";

    [GeneratedRegex(@"(\$(?:request_uri|scheme|host))")]
    private static partial Regex RedirectVariableRegex();
}
