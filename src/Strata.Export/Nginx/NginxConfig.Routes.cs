using System.Collections.Immutable;
using System.Net;
using System.Numerics;
using System.Text.RegularExpressions;
using Strata.Topology;
using static Strata.Export.ConfigWriter;

namespace Strata.Export.Nginx;

// web.routes and app.pools in nginx.conf (docs/export.md, "Routes and rules"). nginx's location matching cannot
// express "host and path and method and header, first route first", so the routes are maps evaluated once per request
// ($strata_route), tested by server-level ifs before any location is chosen, and by maps in the headers each edits.
public static partial class NginxConfig
{
    private const string DefaultPool = "app";

    /// <summary>What maps only approximately once the web nodes have routes (the file's header lists them).</summary>
    private static IEnumerable<string> RouteApproximations(Topology.Topology topology) => topology.WebRoutes.IsEmpty
        ? []
        :
        [
            "web.routes paths: matched on nginx's $uri, decoded and normalized (dot segments, merged slashes).",
            "web.routes headers: $http_NAME and $upstream_http_NAME hold the first of repeated lines only (nginx 1.22); a header condition \"*\" "
                + "takes an empty value for none; names other than letters, digits and '-' cannot be read.",
            "web.routes request rules: proxy_set_header sends one line per name, so an added value is joined to the others with \", \".",
            "web.routes response rules on files nginx serves: a set value is added beside a header nginx writes itself (Content-Type, ETag, "
                + "Cache-Control...) and a removal leaves it; see the `# note:` lines.",
            "web.routes deny: nginx's own 403 page; on a named pool's route nginx's own 502/504 pages, not errorPages.",
            .. topology.WebRoutes.Any(r => r.Request.Any(q => q is RateLimitRule))
                ? ["web.routes limit: limit_req's leaky bucket (burst = Strata's burst - 1, nodelay), checked after the route's redirect; nginx's own 429 page, without Retry-After; a zone of 4 MiB (about 64,000 addresses)."]
                : Array.Empty<string>(),
        ];

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

    /// <summary>A route's redirect or return, or null when it forwards.</summary>
    private static RuleSpec? Answer(RouteSpec route) => route.Request.FirstOrDefault(r => r is RedirectRule or ReturnRule);

    /// <summary>
    /// Room for the routes' maps, before the first map (which fixes the sizes): their variables outgrow nginx's default
    /// variables hash (a warning at start), and a host name longer than about 54 characters its default map hash
    /// bucket (an error at start); a bucket holds a pointer and the name, 8-aligned.
    /// </summary>
    private static void WriteRouteHashSizes(ConfigWriter w, RoutePlan plan)
    {
        if (plan.Routes.IsEmpty)
        {
            return;
        }

        var longestHost = plan.Routes.SelectMany(r => r.Match.Hosts).Select(h => h.Length).DefaultIfEmpty(0).Max();
        w.Comment("Room for the maps of web.routes (below), set before the first map.");
        w.Line("variables_hash_max_size 4096;");
        w.Line("variables_hash_bucket_size 128;");
        w.Line(Invariant($"map_hash_bucket_size {Math.Max(64, BitOperations.RoundUpToPowerOf2((uint)(8 + ((longestHost + 2 + 7) & ~7))))};"));
        w.Line();
    }

    /// <summary>
    /// The http-level maps: each route's conditions and the chain that makes $strata_route, each route's access rules as
    /// a geo (and $strata_denied), and the value of each header a route edits.
    /// </summary>
    private static void WriteRouteMaps(ConfigWriter w, RoutePlan plan)
    {
        if (plan.Routes.IsEmpty)
        {
            return;
        }

        w.Comment("web.routes, first match first: a map per condition of each route, then a chain of maps giving $strata_route, the");
        w.Comment("name of the first route whose conditions all hold (\"\" for none). A literal '$' in a value is ${strata_dollar}.");
        w.Open("geo $strata_dollar").Line("default \"$\";").Close();
        for (var i = 0; i < plan.Routes.Length; i++)
        {
            WriteRouteMatch(w, plan.Routes, i);
        }

        WriteAccessMaps(w, plan.Routes);
        WriteLimitZones(w, plan.Routes);
        foreach (var (header, k) in plan.RequestHeaders.Select((h, k) => (h, k + 1)))
        {
            WriteRequestHeaderMap(w, header, k);
        }

        foreach (var (header, k) in plan.ResponseHeaders.Select((h, k) => (h, k + 1)))
        {
            WriteResponseHeaderMaps(w, header, k, plan);
        }

        w.Line();
    }

    private static void WriteRouteMatch(ConfigWriter w, ImmutableArray<RouteSpec> routes, int index)
    {
        var route = routes[index];
        var prefix = Invariant($"strata_route{index + 1}_");
        var flags = new List<string>();
        w.Comment(Invariant($"route {route.Name} (web.routes[{index}]): pool {route.Pool}"));
        if (!route.Match.Hosts.IsEmpty)
        {
            // hostnames: "*.name" is any subdomain of name, as Strata's; $host has no port or final dot, in lower case.
            WriteFlagMap(w, "$host", prefix + "host", "0", route.Match.Hosts.Select(h => h + " 1;"), hostnames: true);
            flags.Add(prefix + "host");
        }

        if (!route.Match.Paths.IsEmpty)
        {
            WriteFlagMap(w, "$uri", prefix + "path", "0", route.Match.Paths.Select(p => Literal("~^" + Regex.Escape(p)) + " 1;"));
            flags.Add(prefix + "path");
        }

        if (!route.Match.Methods.IsEmpty)
        {
            WriteFlagMap(w, "$request_method", prefix + "method", "0", route.Match.Methods.Select(m => Literal(m) + " 1;"));
            flags.Add(prefix + "method");
        }

        foreach (var ((name, value), k) in route.Match.Headers.Select((h, k) => (h, k + 1)))
        {
            // A regex, since a map compares plain strings without case and Strata compares header values exactly.
            var variable = prefix + Invariant($"header{k}");
            WriteFlagMap(w, "$" + HeaderVariable("http_", name), variable, value == "*" ? "1" : "0", [value == "*" ? "\"\" 0;" : Literal("~^" + Regex.Escape(value) + "$") + " 1;"]);
            flags.Add(variable);
        }

        var step = index == 0 ? "strata_route" : Invariant($"strata_route_from{index + 1}");
        var next = index + 1 < routes.Length ? Invariant($"$strata_route_from{index + 2}") : "\"\"";
        w.Open($"map \"{string.Concat(flags.Select(f => "$" + f))}\" ${step}");
        if (flags.Count > 0)
        {
            w.Line($"\"{new string('1', flags.Count)}\" {route.Name};");
            w.Line($"default {next};");
        }
        else
        {
            w.Line($"default {route.Name};");
        }

        w.Close();
    }

    private static void WriteFlagMap(ConfigWriter w, string source, string variable, string otherwise, IEnumerable<string> entries, bool hostnames = false)
    {
        w.Open($"map {source} ${variable}");
        if (hostnames)
        {
            w.Line("hostnames;");
        }

        w.Line($"default {otherwise};");
        foreach (var entry in entries)
        {
            w.Line(entry);
        }

        w.Close();
    }

    /// <summary>The zone of each route's limit: keyed by the client's address on that route only (an empty key is not counted).</summary>
    private static void WriteLimitZones(ConfigWriter w, ImmutableArray<RouteSpec> routes)
    {
        foreach (var (route, variable, limit) in Limits(routes))
        {
            w.Comment(Invariant($"route {route.Name}: limit {limit.Rate}/s, burst {limit.Burst}"));
            w.Open($"map $strata_route ${variable}").Line($"{Literal(route.Name)} $binary_remote_addr;").Line("default \"\";").Close();
            w.Line(Invariant($"limit_req_zone ${variable} zone={variable}:4m rate={limit.Rate}r/s;"));
        }
    }

    private static IEnumerable<(RouteSpec Route, string Variable, RateLimitRule Limit)> Limits(ImmutableArray<RouteSpec> routes) =>
        routes.SelectMany((route, i) => Reached(route.Request).OfType<RateLimitRule>().Select((limit, k) => (route, Invariant($"strata_route{i + 1}_limit{k + 1}"), limit)));

    /// <summary>
    /// Each route's access rules as one geo, 1 for a client denied: nginx's allow/deny live in locations, after the
    /// rewrite phase where the routes answer. A geo picks the longest range, so a range inside (or equal to) an earlier
    /// one is left out: the earlier rule decides for those clients, as the first matching rule does in Strata.
    /// </summary>
    private static void WriteAccessMaps(ConfigWriter w, ImmutableArray<RouteSpec> routes)
    {
        var denied = new List<(string Route, string Variable)>();
        for (var i = 0; i < routes.Length; i++)
        {
            var rules = Reached(routes[i].Request).OfType<AccessRule>().ToList();
            if (rules.Count == 0)
            {
                continue;
            }

            var variable = Invariant($"strata_route{i + 1}_denied");
            var seen = new List<IPNetwork>();
            var entries = new List<string>();
            string? otherwise = null;
            foreach (var rule in rules)
            {
                foreach (var clients in rule.Clients.Where(c => !seen.Any(s => Within(c, s))))
                {
                    seen.Add(clients);
                    // geo's default is 0.0.0.0/0 and ::/0 at once (nginx warns on either written out): the first of
                    // them decides for both, as "all" gives both together.
                    if (clients.PrefixLength == 0)
                    {
                        otherwise ??= rule.Allow ? "0" : "1";
                        continue;
                    }

                    entries.Add($"{clients} {(rule.Allow ? "0" : "1")};");
                }
            }

            w.Comment($"route {routes[i].Name}: its access rules, the first whose clients include $remote_addr deciding (1: denied)");
            w.Open($"geo ${variable}").Line($"default {otherwise ?? "0"};");
            foreach (var entry in entries)
            {
                w.Line(entry);
            }

            w.Close();
            denied.Add((routes[i].Name, variable));
        }

        if (denied.Count > 0)
        {
            w.Open("map $strata_route $strata_denied").Line("default 0;");
            foreach (var (route, variable) in denied)
            {
                w.Line($"{MapKey(route)} ${variable};");
            }

            w.Close();
        }
    }

    private static bool Within(IPNetwork inner, IPNetwork outer) =>
        inner.BaseAddress.AddressFamily == outer.BaseAddress.AddressFamily && outer.PrefixLength <= inner.PrefixLength && outer.Contains(inner.BaseAddress);

    private static void WriteRequestHeaderMap(ConfigWriter w, EditedHeader header, int k)
    {
        var own = "$" + HeaderVariable("http_", header.Name);
        var before = Invariant($"strata_request{k}_before");
        w.Comment($"request header {header.Name}: as the routes leave it, else the client's (proxy_set_header below)");
        if (header.Routes.Any(r => r.Values.Count > 1))
        {
            w.Comment($"note: nginx sends one {header.Name} line, the values joined with \", \" (Strata sends a line each).");
        }

        if (header.Routes.Any(r => r.Values is [null, _, ..]))
        {
            w.Open($"map {own} ${before}").Line("\"\" \"\";").Line($"default \"{own}, \";").Close();
        }

        w.Open(Invariant($"map $strata_route $strata_request{k}")).Line($"default {own};");
        foreach (var (route, values) in header.Routes)
        {
            var value = Value(string.Join(", ", values.Where(v => v is not null)));
            w.Line($"{MapKey(route)} {(values is [null, ..] ? value.Insert(1, "${" + before + "}") : value)};");
        }

        w.Close();
    }

    /// <summary>
    /// One map per line the routes leave of a response header ("slot"), each written by an <c>add_header</c> (which
    /// skips an empty value): the first is the upstream's own line unless a route set or removed it (the locations
    /// that forward hide the upstream's), the others the added values.
    /// </summary>
    private static void WriteResponseHeaderMaps(ConfigWriter w, EditedHeader header, int k, RoutePlan plan)
    {
        var own = "$" + HeaderVariable("upstream_http_", header.Name);
        w.Comment($"response header {header.Name}: as the routes leave it, else the upstream's (proxy_hide_header and add_header in each location)");
        foreach (var (route, _) in header.Routes.Where(r => r.Values is not [null, ..] && plan.Routes.First(s => s.Name == r.Route).Pool == DefaultPool))
        {
            w.Comment($"note: on files nginx serves, route {route}'s {header.Name} is added beside any nginx writes itself, and a removal leaves that one.");
        }

        for (var slot = 0; slot < header.Slots; slot++)
        {
            var otherwise = slot == 0 ? own : "\"\"";
            w.Open(Invariant($"map $strata_route $strata_response{k}_{slot + 1}")).Line($"default {otherwise};");
            foreach (var (route, values) in header.Routes)
            {
                var value = slot >= values.Count ? "\"\"" : values[slot] is { } line ? Value(line) : own;
                if (value != otherwise)
                {
                    w.Line($"{MapKey(route)} {value};");
                }
            }

            w.Close();
        }
    }

    /// <summary>Server level: the request headers the routes edit, passed on as their maps say.</summary>
    private static void WriteRouteRequestHeaders(ConfigWriter w, RoutePlan plan)
    {
        foreach (var (header, k) in plan.RequestHeaders.Select((h, k) => (h, k + 1)))
        {
            w.Line(Invariant($"proxy_set_header {header.Name} $strata_request{k};"));
        }
    }

    /// <summary>
    /// Server level, in the rewrite phase before any location (and so before files): the access rules, the answers,
    /// and the jump of a route to its own named location: nginx leaves the rewrite phase for a named location only
    /// through <c>error_page</c>, so each such route returns an internal status (5xx above the registered ones).
    /// </summary>
    private static void WriteRouteRules(ConfigWriter w, RoutePlan plan, NodeSpec node)
    {
        if (plan.Routes.IsEmpty)
        {
            return;
        }

        w.Comment("web.routes: applied before any file is looked for. Rule answers say who answered, as Strata's.");
        w.Line($"add_header X-Served-By {node.Name} always;");
        if (plan.Routes.Any(r => Answer(r) is RedirectRule))
        {
            w.Comment("A redirect's Location as written (nginx would make a relative one absolute).");
            w.Line("absolute_redirect off;");
        }

        foreach (var route in plan.Routes.Where(r => plan.Jumps.ContainsKey(r.Name)))
        {
            w.Line(Invariant($"error_page {plan.Jumps[route.Name]} = @route_{route.Name};"));
        }

        if (plan.Routes.Any(r => Reached(r.Request).Any(q => q is AccessRule)))
        {
            w.Open("if ($strata_denied)").Line("return 403;").Close();
        }

        // Server level, so every location inherits them (none sets its own); a request off the route has an empty key.
        foreach (var (_, variable, limit) in Limits(plan.Routes))
        {
            w.Line(Invariant($"limit_req zone={variable} burst={limit.Burst - 1} nodelay;"));
        }

        if (Limits(plan.Routes).Any())
        {
            w.Line("limit_req_status 429;");
        }

        foreach (var route in plan.Routes)
        {
            if (Answer(route) is RedirectRule redirect)
            {
                w.Open($"if ($strata_route = \"{route.Name}\")").Line(Invariant($"return {redirect.Status} {Location(redirect.Location)};")).Close();
            }
            else if (plan.Jumps.TryGetValue(route.Name, out var code))
            {
                w.Open($"if ($strata_route = \"{route.Name}\")").Line(Invariant($"return {code};")).Close();
            }
        }
    }

    /// <summary>In a location: the response headers the routes edit (hiding the upstream's where it forwards).</summary>
    private static void WriteRouteResponseHeaders(ConfigWriter w, RoutePlan plan, bool forwards)
    {
        foreach (var (header, k) in plan.ResponseHeaders.Select((h, k) => (h, k + 1)))
        {
            if (forwards)
            {
                w.Line($"proxy_hide_header {header.Name};");
            }

            for (var slot = 0; slot < header.Slots; slot++)
            {
                w.Line(Invariant($"add_header {header.Name} $strata_response{k}_{slot + 1} always;"));
            }
        }
    }

    /// <summary>The named location of each route that jumps: its fixed answer, or its named pool (forwarded without looking for a file).</summary>
    private static void WriteRouteLocations(ConfigWriter w, Topology.Topology topology, RoutePlan plan, NodeSpec node)
    {
        foreach (var route in plan.Routes.Where(r => plan.Jumps.ContainsKey(r.Name)))
        {
            w.Open($"location @route_{route.Name}");
            if (Answer(route) is ReturnRule answer)
            {
                w.Comment($"route {route.Name}: its return rule. No types: the Content-Type is the rule's, whatever the path's extension.");
                w.Line("types { }");
                w.Line($"default_type {Value(answer.ContentType)};");
                w.Line("charset off;");
                w.Line($"add_header X-Served-By {node.Name} always;");
                WriteSecurityHeaders(w, topology.Web, plan);
                w.Line(Invariant($"return {answer.Status} {Value(answer.Body)};"));
            }
            else
            {
                var pool = topology.AppPools.First(p => p.Name == route.Pool);
                w.Comment($"route {route.Name}: pool {pool.Name}, with its own timeouts and retries.");
                w.Line($"proxy_pass http://{pool.Name};");
                WriteProxySettings(w, pool.Backend);
                w.Line($"add_header Via \"1.1 {node.Name}\" always;");
                WriteLocationHeaders(w, topology.Web, plan, forwards: true);
            }

            w.Close();
        }
    }

    /// <summary>A redirect's location: Strata's variables are nginx's own ($scheme, $host, $request_uri), in braces so no letter that follows extends the name.</summary>
    private static string Location(string location) => "\"" + string.Concat(RedirectVariableRegex().Split(location).Select(part => part switch
    {
        "$scheme" or "$host" or "$request_uri" => "${" + part[1..] + "}",
        _ => Escape(part).Replace("$", "${strata_dollar}", StringComparison.Ordinal),
    })) + "\"";

    /// <summary>A literal as an nginx value where variables are read (map values, add_header, return): '$' is ${strata_dollar}.</summary>
    private static string Value(string value) => "\"" + Escape(value).Replace("$", "${strata_dollar}", StringComparison.Ordinal) + "\"";

    /// <summary>A literal where no variable is read (map keys), quoted: nginx reads \\ and \" in a quoted word.</summary>
    private static string Literal(string value) => "\"" + Escape(value) + "\"";

    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);

    /// <summary>A route's name as a map key: a name that is one of map's own parameters takes a '\' before it (nginx's rule).</summary>
    private static string MapKey(string route) => route is "default" or "hostnames" or "include" or "volatile" ? "\\" + route : route;

    /// <summary>nginx's variable for a header: the name in lower case with '-' as '_'.</summary>
    private static string HeaderVariable(string prefix, string name) => prefix + name.ToLowerInvariant().Replace('-', '_');

    [GeneratedRegex(@"(\$(?:request_uri|scheme|host))")]
    private static partial Regex RedirectVariableRegex();

    /// <summary>A header some routes edit: per route, the lines it leaves, in order (null: the message's own).</summary>
    private sealed record EditedHeader(string Name, List<(string Route, List<string?> Values)> Routes)
    {
        /// <summary>The most lines a route leaves (at least the message's own).</summary>
        public int Slots => Math.Max(1, Routes.Max(r => r.Values.Count));
    }

    /// <summary>web.routes as nginx writes them, worked out once for every server block.</summary>
    private sealed class RoutePlan
    {
        public RoutePlan(Topology.Topology topology)
        {
            Routes = topology.WebRoutes;
            // Internal statuses for the jumps: 599 down, none an error page's.
            using var codes = Enumerable.Range(520, 80).Reverse().Where(c => !topology.Web.ErrorPages.ContainsKey(Invariant($"{c}"))).GetEnumerator();
            foreach (var route in Routes.Where(r => Answer(r) is ReturnRule || (Answer(r) is null && r.Pool != DefaultPool)))
            {
                Jumps.Add(route.Name, codes.MoveNext() ? codes.Current : throw new InvalidOperationException(
                    "nginx export: more than 80 web.routes answer with a body or go to a named pool; nginx needs an internal status for each"));
            }

            // Only the routes that forward: an answer is never forwarded, and never gets the response rules (as in Strata).
            var forwarding = Routes.Where(r => Answer(r) is null).ToList();
            RequestHeaders = Edited(forwarding.Select(r => (r.Name, Reached(r.Request).OfType<HeaderRule>())));
            ResponseHeaders = Edited(forwarding.Select(r => (r.Name, r.Response.AsEnumerable())));
        }

        public ImmutableArray<RouteSpec> Routes { get; }

        /// <summary>Route name → the internal status that jumps to its named location.</summary>
        public Dictionary<string, int> Jumps { get; } = new(StringComparer.Ordinal);

        public IReadOnlyList<EditedHeader> RequestHeaders { get; }

        public IReadOnlyList<EditedHeader> ResponseHeaders { get; }

        /// <summary>
        /// Each route's header rules reduced to the lines they leave per name (case-insensitive), as Strata applies
        /// them in order: set replaces every line, add appends one, remove drops every line.
        /// </summary>
        private static List<EditedHeader> Edited(IEnumerable<(string Route, IEnumerable<HeaderRule> Rules)> routes)
        {
            var headers = new List<EditedHeader>();
            foreach (var (route, rules) in routes)
            {
                foreach (var rule in rules)
                {
                    var header = headers.Find(h => string.Equals(h.Name, rule.Name, StringComparison.OrdinalIgnoreCase));
                    if (header is null)
                    {
                        header = new EditedHeader(rule.Name, []);
                        headers.Add(header);
                    }

                    var values = header.Routes.Find(r => r.Route == route).Values;
                    if (values is null)
                    {
                        values = [null];
                        header.Routes.Add((route, values));
                    }

                    if (rule.Action != HeaderAction.Add)
                    {
                        values.Clear();
                    }

                    if (rule.Action != HeaderAction.Remove)
                    {
                        values.Add(rule.Value);
                    }
                }
            }

            return headers;
        }
    }
}
