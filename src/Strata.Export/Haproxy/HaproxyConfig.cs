using System.Globalization;
using System.Text;
using Strata.Topology;

namespace Strata.Export.Haproxy;

/// <summary>The load balancer tier as an HAProxy 2.6 configuration: the VIP's frontend and the web tier's backend.</summary>
internal static class HaproxyConfig
{
    public static string Render(Topology.Topology topology)
    {
        var web = topology.WebBackend;
        var text = new StringBuilder(ClassicExport.Header(topology, "the load balancers as HAProxy 2.6; both hosts of the keepalived pair use this file"));
        text.Append(CultureInfo.InvariantCulture, $"""

            global
                # nbthread is left to HAProxy (one per core); bench/compare.py sets it to the cores it pins.
                maxconn 8000

            defaults
                mode http
                option http-keep-alive
                option forwardfor
                timeout connect {ClassicExport.Ms(web.ConnectTimeout)}
                timeout server {ClassicExport.Ms(web.ServerTimeout)}
                timeout client {ClassicExport.Ms(web.ClientTimeout)}
                timeout http-request {ClassicExport.Ms(web.ClientTimeout)}
                timeout queue {ClassicExport.Ms(web.QueueTimeout)}

            frontend vip
                # The VIP: on a host that does not hold it, HAProxy needs net.ipv4.ip_nonlocal_bind=1 to start.
                bind {topology.Vip}
                http-response add-header Via "1.1 haproxy"
                default_backend web

            backend web
                balance {Balance(web)}

            """);
        if (web.Algorithm == BalancingAlgorithms.Hash)
        {
            text.Append("    hash-type consistent\n");
        }

        if (web.Retries > 0 && web.RetryOn != RetryConditions.None)
        {
            text.Append(CultureInfo.InvariantCulture, $"    retries {web.Retries}\n    option redispatch 1\n    retry-on {RetryOn(web.RetryOn)}\n");
        }
        else
        {
            text.Append("    retries 0\n");
        }

        var check = web.HealthCheck;
        text.Append(CultureInfo.InvariantCulture, $"    option httpchk\n    http-check send meth GET uri {check.Path}\n    http-check expect status 200\n");
        text.Append(CultureInfo.InvariantCulture, $"    timeout check {ClassicExport.Ms(check.Timeout)}\n");
        if (web.PersistenceCookie is { } cookie)
        {
            text.Append(CultureInfo.InvariantCulture, $"    cookie {cookie} insert indirect nocache httponly\n");
        }

        var defaults = new StringBuilder().Append(CultureInfo.InvariantCulture, $"    default-server check inter {ClassicExport.Ms(check.Interval)} fastinter {ClassicExport.Ms(check.FastInterval)} fall {check.Fall} rise {check.Rise}");
        if (web.SlowStart > TimeSpan.Zero)
        {
            defaults.Append(" slowstart ").Append(ClassicExport.Ms(web.SlowStart));
        }

        if (web.MaxRequestsPerServer > 0)
        {
            defaults.Append(CultureInfo.InvariantCulture, $" maxconn {web.MaxRequestsPerServer}");
        }

        if (web.PassiveFailures > 0)
        {
            // Strata counts refused, reset, timed-out and 5xx-but-503 answers in a row; HAProxy's layer-7 observer is the nearest.
            defaults.Append(CultureInfo.InvariantCulture, $" observe layer7 error-limit {web.PassiveFailures} on-error mark-down");
        }

        text.Append(defaults).Append('\n');
        foreach (var server in topology.WebNodes)
        {
            text.Append(CultureInfo.InvariantCulture, $"    server {server.Name} {server.Address} weight {server.Weight}");
            if (!server.Management.Equals(server.Address))
            {
                text.Append(CultureInfo.InvariantCulture, $" addr {server.Management.Address} port {server.Management.Port}");
            }

            if (web.PersistenceCookie is not null)
            {
                text.Append(" cookie ").Append(server.Name);
            }

            text.Append('\n');
        }

        return text.ToString();
    }

    private static string Balance(BackendSpec backend) => backend.Algorithm switch
    {
        BalancingAlgorithms.LeastConnections => "leastconn",
        BalancingAlgorithms.First => "first",
        BalancingAlgorithms.PowerOfTwo => "random(2)",
        BalancingAlgorithms.Hash => backend.HashOn switch
        {
            HashKind.Path => "uri",
            HashKind.Header => $"hdr({backend.HashHeader})",
            _ => "source",
        },
        _ => "roundrobin",
    };

    private static string RetryOn(RetryConditions conditions) =>
        string.Join(' ', RetryConditionNames.All.Where(n => conditions.HasFlag(n.Condition)).Select(n => n.Name));
}
