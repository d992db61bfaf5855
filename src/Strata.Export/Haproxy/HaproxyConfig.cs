using System.Collections.Immutable;
using Strata.Topology;
using static Strata.Export.ConfigWriter;

namespace Strata.Export.Haproxy;

/// <summary>
/// haproxy.cfg for the load balancers: the VIP's frontend, the web tier as backend <c>web</c> with Strata's checks,
/// balancing, retries, limits and persistence, each of <c>web.pools</c> as a backend of its own chosen by the load
/// balancers' routes, and a management frontend (/healthz, /readyz, /stats). One file that both load balancers of the
/// keepalived pair share, as usual with HAProxy; with <c>vip.tls</c>, an HTTPS bind on the VIP whose certificates are
/// written beside it (HaproxyConfig.Tls.cs).
/// </summary>
public static partial class HaproxyConfig
{
    public const string FileName = "haproxy.cfg";

    /// <summary>The management frontend's address on each node comes from this environment variable.</summary>
    public const string ManagementVariable = "STRATA_MANAGEMENT";

    public static string Write(Topology.Topology topology, ExportSettings settings)
    {
        var web = topology.WebBackend;
        var w = new ConfigWriter();
        w.Header(
            topology.SourcePath,
            "strata export haproxy",
            $"HAProxy for the load balancers ({string.Join(", ", topology.LoadBalancers.Select(n => n.Name))}): one file the keepalived pair shares.",
            [
                "balancing round-robin: HAProxy's roundrobin is weighted but not smooth (Strata's is nginx's smooth weighted round robin).",
                "retries.methods: L7 retries (empty-response, response-timeout, 503) are disabled for other methods and for requests with a body; connection failures are retried for any method, as in Strata.",
                "passiveHealth.consecutiveFailures: `observe layer7 error-limit N on-error mark-down`; HAProxy counts every 5xx, Strata not 503.",
                "limits.maxQueue: HAProxy's maxqueue is per server (here each server gets the whole value); Strata's queue is one for the backend.",
                "Via: `1.1 %[hostname]`, the machine's host name, where Strata writes the node's name (lb-1).",
                "the management frontend binds ${" + ManagementVariable + "} (each node sets its own; the default is the first load balancer's).",
                .. RouteApproximations(topology),
                .. TlsApproximations(topology),
            ],
            [
                "Strata's per-server READY/DRAIN/MAINT admin API: use HAProxy's runtime API (`set server web/web-1 state drain`).",
                "/metrics (Prometheus): HAProxy 2.6 has `http-request use-service prometheus-exporter` when built with it; not enabled here.",
                "the VRRP election itself (vip.*): that is keepalived's job (`strata export keepalived`).",
            ]);

        w.Line("global").Indent();
        if (settings.Workers is { } workers)
        {
            w.Line(Invariant($"nbthread {workers}"));
        }
        else
        {
            w.Comment("nbthread: HAProxy starts one thread per CPU; a benchmark harness sets it with `strata export haproxy --workers N`.");
        }

        WriteTlsDefaults(w, topology);
        if (topology.RequestLog is not null)
        {
            // One line a request, as loadBalancers.requestLog: HAProxy writes each line at once (no buffer); syslog is the usual target.
            w.Comment("loadBalancers.requestLog: HAProxy's httplog (Strata's httplog has the same fields), one line a request, to stdout;");
            w.Comment("in production, log /dev/log local0 sends them to the local syslog instead.");
            w.Line("log stdout format raw local0 info");
        }
        else
        {
            w.Comment("loadBalancers.requestLog is off: no request log, as on Strata's load balancers.");
        }

        w.Outdent().Line();

        w.Line("defaults").Indent();
        w.Line("mode http");
        if (topology.RequestLog is not null)
        {
            w.Line("log global");
            w.Line("option httplog");
        }

        w.Line("option http-keep-alive");
        w.Line("timeout connect " + Duration(web.ConnectTimeout));
        w.Line("timeout client " + Duration(web.ClientTimeout));
        w.Line("timeout http-request " + Duration(web.ClientTimeout));
        w.Line("timeout http-keep-alive " + Duration(web.ClientTimeout));
        w.Line("timeout server " + Duration(web.ServerTimeout));
        w.Line("timeout queue " + Duration(web.QueueTimeout));
        w.Outdent().Line();

        WriteVipFrontend(w, topology, settings);
        WriteManagementFrontend(w, topology);
        WriteWebBackend(w, "web", topology.WebNodes, web, ownTimeouts: false);
        foreach (var pool in topology.WebPools)
        {
            w.Line();
            WriteWebBackend(w, pool.Name, pool.Nodes, pool.Backend, ownTimeouts: true);
        }

        WriteLimitTables(w, [.. topology.VipTls?.Routes ?? [], .. topology.LoadBalancerRoutes], FirstRouteCounter(topology));
        if (topology.VipConnections.PerClient > 0)
        {
            w.Line();
            w.Line($"backend {ConnectionsTable}").Indent();
            w.Comment("vip.maxConnectionsPerClient: each client address's connections open now.");
            w.Line("stick-table type ipv6 size 64k expire 60s store conn_cur");
            w.Outdent();
        }

        return w.ToString();
    }

    /// <summary>The stick table of the VIP's per-client connection limit.</summary>
    private const string ConnectionsTable = "strata_connections";

    /// <summary>Routes' limits track counters after the one the per-client connection limit holds.</summary>
    private static int FirstRouteCounter(Topology.Topology topology) => topology.VipConnections.PerClient > 0 ? 1 : 0;

    private static void WriteVipFrontend(ConfigWriter w, Topology.Topology topology, ExportSettings settings)
    {
        w.Line("frontend vip").Indent();
        w.Comment("Only the keepalived MASTER holds the VIP. For HAProxy to start on the BACKUP too, set");
        w.Comment("net.ipv4.ip_nonlocal_bind=1 (sysctl) there, or the bind fails until the address is present.");
        w.Line("bind " + topology.Vip);
        WriteTlsBind(w, topology, settings);
        var connections = topology.VipConnections;
        w.Comment("vip.maxConnections: beyond it HAProxy stops accepting (new connections wait in the kernel's backlog); Strata answers 503.");
        w.Line(Invariant($"maxconn {connections.Max}"));
        if (connections.PerClient > 0)
        {
            w.Comment("vip.maxConnectionsPerClient: a client's connections counted on stick counter 0; one over the limit gets 429, as from Strata.");
            w.Line($"tcp-request connection track-sc0 src table {ConnectionsTable}");
            w.Line(Invariant($"http-request deny deny_status 429 hdr Retry-After 1 if {{ sc0_conn_cur({ConnectionsTable}) gt {connections.PerClient} }}"));
        }

        var trusted = topology.TrustedProxies.Select(n => n.ToString()).ToList();
        var unlessTrusted = "";
        if (trusted.Count > 0)
        {
            w.Comment("loadBalancers.trustedProxies: their X-Forwarded-* headers are kept and extended.");
            w.Line("acl strata_trusted src " + string.Join(' ', trusted));
            unlessTrusted = " unless strata_trusted";
        }

        // The redirect to HTTPS is the first route, as on Strata's load balancers.
        ImmutableArray<RouteSpec> routes = [.. topology.VipTls?.Routes ?? [], .. topology.LoadBalancerRoutes];
        WriteRouteSelection(w, routes);

        w.Comment("A client's own X-Forwarded-* headers are replaced by what the connection says; its other claims of its");
        w.Comment("address (Forwarded, X-Real-IP...) are removed, as Strata's load balancers do.");
        foreach (var header in new[] { "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host" }.Concat(EdgeHeaders.ClientAddress))
        {
            w.Line($"http-request del-header {header}{unlessTrusted}");
        }

        w.Line("option forwardfor");
        w.Line($"http-request set-header X-Forwarded-Proto {(topology.VipTls is null ? "http" : "%[ssl_fc,iif(https,http)]")} unless {{ req.hdr(x-forwarded-proto) -m found }}");
        w.Line("http-request set-header X-Forwarded-Host %[req.hdr(host)] unless { req.hdr(x-forwarded-host) -m found }");
        w.Comment("Via, both ways, as Strata's proxies append it (RFC 9110 section 7.6.3).");
        w.Line("http-request add-header Via \"1.1 %[hostname]\"");
        w.Line("http-response add-header Via \"1.1 %[hostname]\"");
        WriteHsts(w, topology);
        WriteRouteRules(w, routes, FirstRouteCounter(topology), trusted.Count > 0);
        w.Line("default_backend web");
        w.Outdent().Line();
    }

    private static void WriteManagementFrontend(ConfigWriter w, Topology.Topology topology)
    {
        var first = topology.LoadBalancers.FirstOrDefault();
        w.Line("frontend management").Indent();
        w.Comment("Each load balancer's own management address: "
            + string.Join(", ", topology.LoadBalancers.Select(n => $"{n.Name} {n.Management}"))
            + $". Set {ManagementVariable} on each node.");
        w.Line(first is null ? $"bind \"${{{ManagementVariable}}}\"" : $"bind \"${{{ManagementVariable}-{first.Management}}}\"");

        w.Comment("/readyz fails while no web server is up, which keepalived's check script turns into trackWeight.");
        w.Line("monitor-uri /readyz");
        w.Line("monitor fail if { nbsrv(web) lt 1 }");
        if (topology.RequestLog is not null)
        {
            w.Comment("Health checks and stats are not the site's traffic: not in the request log (as on Strata's management address).");
            w.Line("http-request set-log-level silent");
        }

        w.Line("http-request return status 200 content-type text/plain string \"ok\" if { path /healthz }");
        w.Line("stats enable");
        w.Line("stats uri /stats");
        w.Line("stats refresh 5s");
        w.Outdent().Line();
    }

    private static void WriteWebBackend(ConfigWriter w, string name, IReadOnlyList<NodeSpec> servers, BackendSpec spec, bool ownTimeouts)
    {
        w.Line("backend " + name).Indent();
        if (ownTimeouts)
        {
            // The defaults section has the default pool's; a named pool's own apply to its backend.
            w.Line("timeout connect " + Duration(spec.ConnectTimeout));
            w.Line("timeout server " + Duration(spec.ServerTimeout));
            w.Line("timeout queue " + Duration(spec.QueueTimeout));
        }

        w.Line("balance " + Balance(spec));
        if (spec.Algorithm == BalancingAlgorithms.Hash)
        {
            w.Line("hash-type consistent");
        }

        var check = spec.HealthCheck;
        w.Line("option httpchk");
        w.Line($"http-check send meth GET uri {check.Path}");
        w.Line("http-check expect status 200-299");
        w.Line("timeout check " + Duration(check.Timeout));

        if (spec.Retries > 0 && spec.RetryOn != RetryConditions.None)
        {
            w.Line(Invariant($"retries {spec.Retries}"));
            w.Line("retry-on " + string.Join(' ', RetryConditionNames.All.Where(c => spec.RetryOn.HasFlag(c.Condition)).Select(c => c.Name)));
            w.Line("option redispatch 1");
            if ((spec.RetryOn & ~RetryConditions.ConnectionFailure) != RetryConditions.None)
            {
                w.Comment("retries.methods: a request that was sent is retried only with these methods and without a body.");
                w.Line("acl strata_retry_method method " + string.Join(' ', spec.RetryMethods.Order(StringComparer.Ordinal)));
                w.Line("http-request disable-l7-retry if !strata_retry_method || { req.hdr(transfer-encoding) -m found } || { req.hdr_val(content-length) gt 0 }");
            }
        }
        else
        {
            w.Line("retries 0");
            w.Line("retry-on none");
        }

        if (spec.PersistenceCookie is { } cookie)
        {
            w.Line($"cookie {cookie} insert indirect nocache");
        }

        foreach (var server in servers)
        {
            w.Line(Server(server, spec));
        }

        w.Outdent();
    }

    private static string Balance(BackendSpec spec) => spec.Algorithm switch
    {
        BalancingAlgorithms.LeastConnections => "leastconn",
        BalancingAlgorithms.PowerOfTwo => "random(2)",
        BalancingAlgorithms.First => "first",
        BalancingAlgorithms.Hash => spec.HashOn switch
        {
            HashKind.Path => "uri",
            HashKind.Header => $"hdr({spec.HashHeader})",
            _ => "source",
        },
        _ => "roundrobin",
    };

    private static string Server(NodeSpec server, BackendSpec spec)
    {
        var check = spec.HealthCheck;
        var line = Invariant($"server {server.Name} {server.Address} weight {server.Weight} check addr {server.Management.Address} port {server.Management.Port}")
            + $" inter {Duration(check.Interval)} fastinter {Duration(check.FastInterval)}"
            + Invariant($" fall {check.Fall} rise {check.Rise}");
        if (spec.MaxRequestsPerServer > 0)
        {
            line += Invariant($" maxconn {spec.MaxRequestsPerServer} maxqueue {spec.MaxQueue}");
        }

        if (spec.SlowStart > TimeSpan.Zero)
        {
            line += " slowstart " + Duration(spec.SlowStart);
        }

        if (spec.PersistenceCookie is not null)
        {
            line += " cookie " + server.Name;
        }

        if (spec.PassiveFailures > 0)
        {
            line += Invariant($" observe layer7 error-limit {spec.PassiveFailures} on-error mark-down");
        }

        return line;
    }
}
