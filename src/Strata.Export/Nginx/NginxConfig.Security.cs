using Strata.Topology;

namespace Strata.Export.Nginx;

/// <summary>
/// The web nodes' trust boundary and security headers in nginx: X-Forwarded-* and the other client-address headers
/// kept only from the proxies in front (<see cref="Topology.Topology.ProxiesInFront"/>) and set from the connection
/// otherwise, as Strata's web nodes do; web.securityHeaders on every answer unless the app's answer has its own.
/// </summary>
public static partial class NginxConfig
{
    /// <summary>http level: who is trusted, what each forwarded header becomes, and each security header's value.</summary>
    private static void WriteTrustMaps(ConfigWriter w, Topology.Topology topology, RoutePlan plan)
    {
        w.Comment("Peers whose X-Forwarded-* and client-address headers are kept (the load balancers, loadBalancers.trustedProxies);");
        w.Comment("from any other peer they are set from the connection or removed, as Strata's web nodes do.");
        w.Open("geo $strata_trusted_peer");
        w.Line("default 0;");
        foreach (var network in topology.ProxiesInFront(NodeRole.Web).Networks)
        {
            w.Line($"{network} 1;");
        }

        w.Close();
        w.Open("map $strata_trusted_peer $strata_forwarded_for").Line("1 $proxy_add_x_forwarded_for;").Line("default $remote_addr;").Close();
        w.Open("map \"$strata_trusted_peer$http_x_forwarded_proto\" $strata_forwarded_proto").Line("\"~^1(?<kept>.+)$\" $kept;").Line("default $scheme;").Close();
        w.Open("map \"$strata_trusted_peer$http_x_forwarded_host\" $strata_forwarded_host").Line("\"~^1(?<kept>.+)$\" $kept;").Line("default $host;").Close();
        foreach (var header in KeptClientAddressHeaders(plan))
        {
            w.Open($"map $strata_trusted_peer {HeaderVariable("$strata_kept_", header)}").Line($"1 {HeaderVariable("$http_", header)};").Line("default \"\";").Close();
        }

        var security = SecurityHeaders(topology.Web, plan);
        if (security.Count == 0)
        {
            return;
        }

        w.Comment("web.securityHeaders: on every answer, files and forwarded pages alike, unless the app's answer has its own.");
        if (plan.Routes.IsEmpty && security.Any(h => h.Value.Contains('$', StringComparison.Ordinal)))
        {
            w.Open("geo $strata_dollar").Line("default \"$\";").Close();
        }

        foreach (var (name, value) in security)
        {
            w.Open($"map {HeaderVariable("$upstream_http_", name)} {HeaderVariable("$strata_", name)}").Line($"\"\" {Value(value)};").Line("default \"\";").Close();
        }

        w.Line();
    }

    /// <summary>Server level, beside the other proxy_set_header lines: the forwarded headers as the maps decided.</summary>
    private static void WriteForwardedHeaders(ConfigWriter w, RoutePlan plan)
    {
        w.Line("proxy_set_header X-Forwarded-For $strata_forwarded_for;");
        w.Line("proxy_set_header X-Forwarded-Proto $strata_forwarded_proto;");
        w.Line("proxy_set_header X-Forwarded-Host $strata_forwarded_host;");
        foreach (var header in KeptClientAddressHeaders(plan))
        {
            w.Line($"proxy_set_header {header} {HeaderVariable("$strata_kept_", header)};");
        }
    }

    /// <summary>
    /// The security headers' add_header lines: at server level and again in every location that adds a header of its
    /// own (nginx inherits add_header only into a location that has none). An empty value adds nothing.
    /// </summary>
    private static void WriteSecurityHeaders(ConfigWriter w, WebSpec web, RoutePlan plan)
    {
        foreach (var (name, _) in SecurityHeaders(web, plan))
        {
            w.Line($"add_header {name} {HeaderVariable("$strata_", name)} always;");
        }
    }

    /// <summary>In a location: the routes' response headers, then the security headers.</summary>
    private static void WriteLocationHeaders(ConfigWriter w, WebSpec web, RoutePlan plan, bool forwards)
    {
        WriteRouteResponseHeaders(w, plan, forwards);
        WriteSecurityHeaders(w, web, plan);
    }

    /// <summary>The security headers no route edits (a route's response rule wins, as in Strata).</summary>
    private static List<(string Name, string Value)> SecurityHeaders(WebSpec web, RoutePlan plan) =>
        [.. web.SecurityHeaders.Where(h => !plan.ResponseHeaders.Any(r => r.Name.Equals(h.Name, StringComparison.OrdinalIgnoreCase)))];

    /// <summary>The client-address headers no route edits (a route's request rule wins, as in Strata).</summary>
    private static IEnumerable<string> KeptClientAddressHeaders(RoutePlan plan) =>
        EdgeHeaders.ClientAddress.Where(h => !plan.RequestHeaders.Any(r => r.Name.Equals(h, StringComparison.OrdinalIgnoreCase)));
}
