using System.Globalization;
using Strata.Topology;
using static Strata.Export.ConfigWriter;

namespace Strata.Export.Nginx;

/// <summary>
/// A complete nginx.conf (for <c>nginx -c</c>) for the web nodes: one <c>server</c> per web node serving the web root
/// with Strata's split between files and the app tier (<c>UseStaticSite</c>), <c>upstream app</c> with every app node
/// over HTTP/1.1 keep-alive, an upstream per named app pool chosen by the web nodes' routes, and every file nginx
/// writes (pid, logs, temporary bodies) under the output folder.
/// </summary>
public static partial class NginxConfig
{
    public const string FileName = "nginx.conf";

    /// <summary>Idle keep-alive connections each worker keeps to the app tier.</summary>
    public const int UpstreamKeepalive = 64;

    public static string Write(Topology.Topology topology, ExportSettings settings)
    {
        var dir = settings.OutputDirectory.TrimEnd('/');
        var app = topology.AppBackend;
        var web = topology.Web;
        var w = new ConfigWriter();
        List<string> missing =
        [
            "app.slowStartMs, app.limits.maxQueue and app.limits.queueTimeoutMs, app.persistence: nginx Plus only (slow_start, queue, sticky cookie).",
            "Strata's admin API (drain, maintenance, weight) and /metrics on the management address (it answers /healthz and /readyz only).",
            "the problem+json error body for clients that prefer JSON, and Retry-After on 503.",
        ];
        if (app.Algorithm == BalancingAlgorithms.First)
        {
            missing.Add("app.balancing.algorithm first: nginx has no such balancer; round robin is used.");
        }

        w.Header(
            topology.SourcePath,
            "strata export nginx",
            $"nginx for the web nodes ({string.Join(", ", topology.AllWebNodes.Select(n => n.Name))}), a server block each; run it with\n"
                + $"`nginx -c {dir}/{FileName}`. It writes only under {dir} (pid, error.log, logs/, tmp/): no root, no /etc/nginx.",
            [
                "app.healthCheck: nginx has no active checks (nginx Plus has); max_fails/fail_timeout take a server out after "
                    + "passiveHealth.consecutiveFailures failed requests, for fail_timeout = healthCheck.intervalMs x rise; with http_503 retried, nginx counts 503 as a failure, Strata does not.",
                "app.retries.methods: nginx never retries POST, LOCK or PATCH once sent (no non_idempotent); Strata retries the listed methods.",
                "static.cacheControl and fingerprinted files: a map on $uri with Strata's prefixes, then its fingerprint regex.",
                "a directory without its final '/' is served its index file; Strata redirects (301).",
                "a method other than GET/HEAD on an existing file answers 405 in nginx; Strata forwards it to the app tier (outside staticPrefixes).",
                "static.followSymlinksOutOfRoot false: `disable_symlinks if_not_owner from=$document_root`, which refuses links (below the root) whose owner differs from the target's; Strata refuses links leading out of the root.",
                "static.compressMinBytes: gzip on the fly per request (Strata compresses once, with brotli when accepted, and caches it).",
                "static.memoryCacheBytes: open_file_cache keeps descriptors and metadata, not contents; the page cache and sendfile do the rest. "
                    + "Strata re-checks a cached file on a watcher event and on every hit; nginx at most once a second (open_file_cache_valid 1s).",
                "the management address of a web node: a server answering /healthz and /readyz with 200 while nginx runs (what the load balancers' checks ask); "
                    + "Strata's /readyz also fails while no app node is ready.",
                "client.maxHeaderBytes: large_client_header_buffers (count x size); nginx answers 400 where Strata answers 431.",
                "client.minBodyBytesPerSecond: client_body_timeout (time between two reads).",
                "Via: added to forwarded requests (appended) and to their responses as a header line of its own.",
                "the access log's client behind a trusted peer: the last X-Forwarded-For entry; Strata goes on leftwards past trusted proxies (real_ip_recursive).",
                "errorPages 50x: error_page 500 502 503 504 (nginx takes a list of codes, not a range).",
                .. RouteApproximations(topology),
            ],
            missing);

        w.Comment("worker_processes: a benchmark harness sets it with `strata export nginx --workers N`.");
        w.Line(settings.Workers is { } workers ? Invariant($"worker_processes {workers};") : "worker_processes auto;");
        w.Line($"pid {dir}/nginx.pid;");
        w.Line($"error_log {dir}/error.log warn;");
        w.Line();
        w.Open("events");
        w.Line("worker_connections 4096;");
        w.Close();
        w.Line();

        w.Open("http");
        WriteTypes(w);
        w.Line($"client_body_temp_path {dir}/tmp/body;");
        w.Line($"proxy_temp_path {dir}/tmp/proxy;");
        w.Line($"fastcgi_temp_path {dir}/tmp/fastcgi;");
        w.Line($"uwsgi_temp_path {dir}/tmp/uwsgi;");
        w.Line($"scgi_temp_path {dir}/tmp/scgi;");
        w.Line();
        w.Line("server_tokens off;");
        w.Line("sendfile on;");
        w.Line("tcp_nopush on;");
        w.Line("tcp_nodelay on;");
        w.Line("etag on;");
        w.Line("if_modified_since exact;");
        w.Line("merge_slashes on;");
        w.Line("keepalive_timeout " + Duration(app.ClientTimeout) + ";");
        w.Comment("Kestrel closes no connection after a number of requests; nginx's default is 1000.");
        w.Line("keepalive_requests 1000000;");
        w.Line("client_header_timeout " + Duration(app.ClientTimeout) + ";");
        w.Line("client_body_timeout 60s;");
        w.Line(Invariant($"client_max_body_size {web.MaxBodyBytes};"));
        w.Line(Invariant($"large_client_header_buffers {Math.Max(2, (web.MaxHeaderBytes + web.MaxRequestLineBytes - 1) / web.MaxRequestLineBytes)} {web.MaxRequestLineBytes};"));
        w.Line(web.FollowSymlinksOutOfRoot ? "disable_symlinks off;" : "disable_symlinks if_not_owner from=$document_root;");
        w.Line();
        w.Line("gzip on;");
        w.Line("gzip_static on;");
        w.Line("gzip_vary on;");
        w.Line(Invariant($"gzip_min_length {web.CompressMinBytes};"));
        w.Line("gzip_types text/css text/javascript text/plain application/json application/xml application/wasm image/svg+xml image/x-icon;");
        w.Line("open_file_cache max=10000 inactive=60s;");
        w.Line("open_file_cache_valid 1s;");
        w.Line("open_file_cache_errors on;");
        w.Line();
        var routes = new RoutePlan(topology);
        WriteRouteHashSizes(w, routes);
        WriteLogFormat(w, web);
        WriteMaps(w, web);
        WriteRouteMaps(w, routes);
        WriteTrustMaps(w, topology, routes);
        foreach (var pool in topology.AllAppPools)
        {
            WriteUpstream(w, pool.Name, pool.Nodes, pool.Backend);
        }

        w.Line("proxy_http_version 1.1;");
        WriteProxySettings(w, app);
        w.Line();
        foreach (var node in topology.AllWebNodes)
        {
            WriteServer(w, topology, routes, node, dir);
        }

        w.Close();
        return w.ToString();
    }

    private static void WriteTypes(ConfigWriter w)
    {
        w.Comment("Strata's content types (nginx's mime.types lives under /etc/nginx, which this file does not use).");
        w.Open("types");
        // nginx's types map a type to its extensions; the charset of text types is nginx's `charset` below.
        foreach (var group in WebContent.Types.GroupBy(t => t.Type.Split(';')[0]))
        {
            w.Line($"{group.Key} {string.Join(' ', group.Select(t => t.Extension.TrimStart('.')))};");
        }

        w.Close();
        w.Line($"default_type {WebContent.DefaultType};");
        w.Line("charset utf-8;");
        w.Line("charset_types text/css text/javascript text/plain;");
        w.Line();
    }

    private static void WriteLogFormat(ConfigWriter w, WebSpec web)
    {
        w.Comment("The remote address of the log: behind a load balancer or trusted proxy, the last X-Forwarded-For entry (the");
        w.Comment("address the load balancer saw); from any other peer, the peer, whatever X-Forwarded-For it sent.");
        w.Open("map \"$strata_trusted_peer$http_x_forwarded_for\" $strata_remote");
        w.Line("default $remote_addr;");
        w.Line("\"~^1.*?(?<client>[^,\\s]+)\\s*$\" $client;");
        w.Close();
        if (web.AccessLogPath is null)
        {
            return;
        }

        if (web.AccessLogFormat == "json")
        {
            w.Line("log_format strata_json escape=json '{\"time\":\"$time_iso8601\",\"remote\":\"$strata_remote\",\"method\":\"$request_method\","
                + "\"path\":\"$request_uri\",\"protocol\":\"$server_protocol\",\"status\":$status,\"bytes\":$body_bytes_sent,"
                + "\"referer\":\"$http_referer\",\"userAgent\":\"$http_user_agent\",\"durationMs\":$request_time,\"upstream\":\"$upstream_addr\"}';");
        }
        else
        {
            w.Comment("nginx's combined format with the request time in seconds appended, as Strata writes it.");
            w.Line("log_format strata_combined '$strata_remote - $remote_user [$time_local] \"$request\" $status $body_bytes_sent "
                + "\"$http_referer\" \"$http_user_agent\" $request_time';");
        }

        w.Line();
    }

    private static void WriteMaps(ConfigWriter w, WebSpec web)
    {
        w.Comment("Cache-Control of files: static.cacheControl by prefix (longest first), then fingerprinted names, then the default.");
        w.Open("map $uri $strata_cache_control");
        w.Line(Quote(WebSpec.DefaultCacheControl, "default "));
        foreach (var (prefix, value) in web.CacheControl)
        {
            w.Line($"\"~^{EscapeRegex(prefix)}\" {Quote(value)}");
        }

        w.Line($"\"~{WebContent.FingerprintPattern}\" {Quote(WebSpec.ImmutableCacheControl)}");
        w.Close();
        w.Comment("A request's Via, with this proxy appended in each server block.");
        w.Open("map $http_via $strata_via");
        w.Line("default \"$http_via, \";");
        w.Line("\"\" \"\";");
        w.Close();
        w.Line();
    }

    private static void WriteUpstream(ConfigWriter w, string name, IReadOnlyList<NodeSpec> servers, BackendSpec spec)
    {
        w.Open("upstream " + name);
        switch (spec.Algorithm)
        {
            case BalancingAlgorithms.LeastConnections:
                w.Line("least_conn;");
                break;
            case BalancingAlgorithms.PowerOfTwo:
                w.Line("random two least_conn;");
                break;
            case BalancingAlgorithms.Hash:
                w.Line(spec.HashOn switch
                {
                    HashKind.Path => "hash $uri consistent;",
                    HashKind.Header => $"hash $http_{spec.HashHeader!.ToLowerInvariant().Replace('-', '_')} consistent;",
                    _ => "hash $remote_addr consistent;",
                });
                break;
            case BalancingAlgorithms.First:
                w.Comment("first: no nginx equivalent; round robin.");
                break;
            default:
                w.Comment("round-robin: nginx's default (smooth weighted), as Strata's.");
                break;
        }

        var failTimeout = Duration(spec.HealthCheck.Interval * spec.HealthCheck.Rise);
        foreach (var server in servers)
        {
            var line = $"server {server.Address}";
            line += server.Weight == 0 ? " down" : Invariant($" weight={server.Weight}");
            line += Invariant($" max_fails={spec.PassiveFailures} fail_timeout={failTimeout}");
            if (spec.MaxRequestsPerServer > 0)
            {
                line += Invariant($" max_conns={spec.MaxRequestsPerServer}");
            }

            w.Line($"{line}; # {server.Name}{(server.Weight == 0 ? " (weight 0)" : "")}");
        }

        w.Comment("HTTP/1.1 keep-alive to the app tier, as Strata's forwarder (with proxy_http_version 1.1 and an empty Connection below).");
        w.Line(Invariant($"keepalive {UpstreamKeepalive};"));
        w.Close();
        w.Line();
    }

    /// <summary>A pool's timeouts and retries: at http level for the default pool, in a route's location for a named one.</summary>
    private static void WriteProxySettings(ConfigWriter w, BackendSpec spec)
    {
        w.Line("proxy_connect_timeout " + Duration(spec.ConnectTimeout) + ";");
        w.Line("proxy_read_timeout " + Duration(spec.ServerTimeout) + ";");
        w.Line("proxy_send_timeout " + Duration(spec.ServerTimeout) + ";");
        var conditions = new List<string>();
        if ((spec.RetryOn & (RetryConditions.ConnectionFailure | RetryConditions.EmptyResponse)) != 0)
        {
            conditions.Add("error");
        }

        if (spec.RetryOn.HasFlag(RetryConditions.ResponseTimeout))
        {
            conditions.Add("timeout");
        }

        if (spec.RetryOn.HasFlag(RetryConditions.Status503))
        {
            conditions.Add("http_503");
        }

        if (spec.Retries == 0 || conditions.Count == 0)
        {
            w.Line("proxy_next_upstream off;");
        }
        else
        {
            w.Line($"proxy_next_upstream {string.Join(' ', conditions)};");
            w.Comment("tries count the first attempt: retries.count + 1.");
            w.Line(Invariant($"proxy_next_upstream_tries {spec.Retries + 1};"));
        }
    }

    private static void WriteServer(ConfigWriter w, Topology.Topology topology, RoutePlan routes, NodeSpec node, string dir)
    {
        var web = topology.Web;
        w.Comment(node.Name);
        w.Open("server");
        w.Line($"listen {node.Address};");
        w.Line("server_name _;");
        w.Line($"root {topology.WebRoot};");
        w.Line($"index {web.Index};");
        w.Line(web.AccessLogPath is null
            ? "access_log off;"
            : $"access_log {dir}/logs/{node.Name}.access.log {(web.AccessLogFormat == "json" ? "strata_json" : "strata_combined")} buffer=64k flush=1s;");
        w.Comment("Every proxy_set_header here: a location that set one would drop them all.");
        w.Line("proxy_set_header Host $http_host;");
        w.Line("proxy_set_header Connection \"\";");
        WriteForwardedHeaders(w, routes);
        w.Line($"proxy_set_header Via \"${{strata_via}}1.1 {node.Name}\";");
        WriteRouteRequestHeaders(w, routes);
        WriteSecurityHeaders(w, web, routes);
        foreach (var (codes, page) in ErrorPages(web))
        {
            w.Line($"error_page {string.Join(' ', codes)} {page};");
        }

        WriteRouteRules(w, routes, node);
        w.Line();
        var served = $"add_header X-Served-By {node.Name} always;";
        var cache = "add_header Cache-Control $strata_cache_control;";
        var via = $"add_header Via \"1.1 {node.Name}\" always;";
        foreach (var prefix in web.AppPrefixes)
        {
            w.Comment("static.appPrefixes: always forwarded, even when a file matches.");
            w.Open($"location ^~ {prefix}");
            w.Line("proxy_pass http://app;");
            w.Line(via);
            WriteLocationHeaders(w, web, routes, forwards: true);
            w.Close();
        }

        foreach (var prefix in web.StaticPrefixes)
        {
            w.Comment("static.staticPrefixes: never forwarded; a missing file is 404.");
            w.Open($"location {prefix}");
            w.Line("try_files $uri =404;");
            w.Line(served);
            w.Line(cache);
            WriteLocationHeaders(w, web, routes, forwards: false);
            w.Close();
        }

        w.Comment("Hidden files (a segment starting with '.') are 404, except /.well-known/ (RFC 8615).");
        w.Open("location ~ /\\.(?!well-known/)");
        w.Line(served);
        WriteLocationHeaders(w, web, routes, forwards: false);
        w.Line("return 404;");
        w.Close();
        foreach (var page in web.ErrorPages.Values.Distinct().Order(StringComparer.Ordinal))
        {
            w.Open($"location = {page}");
            w.Line(served);
            w.Line("add_header Cache-Control no-store always;");
            WriteLocationHeaders(w, web, routes, forwards: false);
            w.Close();
        }

        w.Comment("Everything else: the file, or the directory's index file, else the app tier.");
        w.Open("location /");
        w.Line($"try_files $uri $uri/{web.Index} @app;");
        w.Line(served);
        w.Line(cache);
        WriteLocationHeaders(w, web, routes, forwards: false);
        w.Close();
        w.Open("location @app");
        w.Line("proxy_pass http://app;");
        w.Line(via);
        WriteLocationHeaders(w, web, routes, forwards: true);
        w.Close();
        WriteRouteLocations(w, topology, routes, node);
        w.Close();
        w.Line();
        WriteManagementServer(w, node);
    }

    /// <summary>
    /// The node's management address, where the load balancers' health checks (haproxy.cfg: <c>check addr ... port</c>)
    /// ask /healthz and /readyz; nothing else answers there.
    /// </summary>
    private static void WriteManagementServer(ConfigWriter w, NodeSpec node)
    {
        if (node.Management.Equals(node.Address))
        {
            return;
        }

        w.Comment($"{node.Name}'s management address: what the load balancers' health checks ask.");
        w.Open("server");
        w.Line($"listen {node.Management};");
        w.Line("access_log off;");
        w.Open("location = /healthz");
        w.Line("default_type text/plain;");
        w.Line("return 200 \"alive\\n\";");
        w.Close();
        w.Open("location = /readyz");
        w.Line("default_type text/plain;");
        w.Line("return 200 \"ready\\n\";");
        w.Close();
        w.Open("location /");
        w.Line("return 404;");
        w.Close();
        w.Close();
        w.Line();
    }

    /// <summary>error_page lines: exact codes win over "50x" (500 502 503 504), grouped by page, in code order.</summary>
    private static IEnumerable<(IEnumerable<int> Codes, string Page)> ErrorPages(WebSpec web)
    {
        var byCode = new SortedDictionary<int, string>();
        if (web.ErrorPages.TryGetValue("50x", out var serverErrors))
        {
            foreach (var code in new[] { 500, 502, 503, 504 })
            {
                byCode[code] = serverErrors;
            }
        }

        foreach (var (key, page) in web.ErrorPages)
        {
            if (int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out var code))
            {
                byCode[code] = page;
            }
        }

        return byCode.GroupBy(p => p.Value, StringComparer.Ordinal)
            .OrderBy(g => g.Min(p => p.Key))
            .Select(g => (g.Select(p => p.Key), g.Key));
    }

    private static string Quote(string value, string prefix = "") => $"{prefix}\"{value.Replace("\"", "\\\"", StringComparison.Ordinal)}\";";

    private static string EscapeRegex(string text) => System.Text.RegularExpressions.Regex.Escape(text);
}
