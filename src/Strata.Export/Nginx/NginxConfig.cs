using System.Globalization;
using System.Text;
using Strata.Topology;

namespace Strata.Export.Nginx;

/// <summary>
/// The web tier as a complete nginx 1.22 main configuration (<c>nginx -c FILE</c>): a server per web node with
/// Strata's try_files split, the app tier as an upstream with HTTP/1.1 keep-alive, and the pid, logs and temporary
/// files in the export folder, so it runs without root and without /etc/nginx.
/// </summary>
internal static class NginxConfig
{
    // Self-contained (no include of /etc/nginx/mime.types): the types Strata's web node knows.
    private static readonly (string Type, string Extensions)[] Types =
    [
        ("text/html", "html htm"), ("text/css", "css"), ("text/plain", "txt"), ("text/xml", "xml"),
        ("application/javascript", "js mjs"), ("application/json", "json map"), ("application/wasm", "wasm"),
        ("application/pdf", "pdf"), ("image/svg+xml", "svg"), ("image/png", "png"), ("image/jpeg", "jpg jpeg"),
        ("image/gif", "gif"), ("image/webp", "webp"), ("image/avif", "avif"), ("image/x-icon", "ico"),
        ("font/woff2", "woff2"), ("font/woff", "woff"), ("video/mp4", "mp4"), ("audio/mpeg", "mp3"),
    ];

    public static string Render(Topology.Topology topology, string directory)
    {
        var web = topology.Web;
        var app = topology.AppBackend;
        var temp = Path.Combine(directory, "tmp");
        var text = new StringBuilder(ClassicExport.Header(topology, "the web nodes as nginx 1.22, every node's server in one file"));
        text.Append(CultureInfo.InvariantCulture, $$"""
            # Run: nginx -c THIS_FILE ('strata export' created {{temp}} and the access logs' folder). worker_processes: bench/compare.py sets it to the cores it pins.
            worker_processes auto;
            pid {{Path.Combine(directory, "nginx.pid")}};
            error_log {{Path.Combine(directory, "error.log")}};

            events {
                worker_connections 4096;
            }

            http {
                types {

            """);
        foreach (var (type, extensions) in Types)
        {
            text.Append(CultureInfo.InvariantCulture, $"        {type} {extensions};\n");
        }

        text.Append(CultureInfo.InvariantCulture, $$"""
                }
                default_type application/octet-stream;
                server_tokens off;
                sendfile on;
                tcp_nopush on;
                tcp_nodelay on;
                etag on;
                keepalive_timeout {{(int)app.ClientTimeout.TotalSeconds}}s;
                client_header_timeout {{(int)app.ClientTimeout.TotalSeconds}}s;
                client_max_body_size {{web.MaxBodyBytes}};
                large_client_header_buffers 4 {{web.MaxRequestLineBytes}};
                # Strata re-checks a cached file on a watcher event and on every hit; nginx at most once a second.
                open_file_cache max=10000 inactive=60s;
                open_file_cache_valid 1s;
                gzip on;
                gzip_static on;
                gzip_vary on;
                gzip_min_length {{web.CompressMinBytes}};
                gzip_types text/css text/plain text/xml application/javascript application/json image/svg+xml application/wasm;
                client_body_temp_path {{temp}}/body;
                proxy_temp_path {{temp}}/proxy;
                fastcgi_temp_path {{temp}}/fastcgi;
                uwsgi_temp_path {{temp}}/uwsgi;
                scgi_temp_path {{temp}}/scgi;

                # To the app tier over HTTP/1.1 with pooled connections: without these three nginx speaks HTTP/1.0
                # and opens a connection per request.
                proxy_http_version 1.1;
                proxy_set_header Connection "";
                proxy_set_header Host $host;
                proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                proxy_set_header X-Forwarded-Proto $scheme;
                proxy_set_header X-Forwarded-Host $host;
                proxy_connect_timeout {{ClassicExport.Ms(app.ConnectTimeout)}};
                proxy_read_timeout {{ClassicExport.Ms(app.ServerTimeout)}};
                proxy_send_timeout {{ClassicExport.Ms(app.ServerTimeout)}};
                proxy_next_upstream {{NextUpstream(app)}};
                proxy_next_upstream_tries {{app.Retries + 1}};
                proxy_buffering on;

                upstream app {
                    {{Balance(app)}}

            """);
        foreach (var server in topology.AppNodes)
        {
            // Strata's passive health: failures in a row; nginx's: failures within fail_timeout.
            text.Append(CultureInfo.InvariantCulture, $"        server {server.Address} weight={Math.Max(1, server.Weight)}");
            text.Append(app.PassiveFailures > 0 ? $" max_fails={app.PassiveFailures} fail_timeout=10s" : " max_fails=0");
            text.Append(server.Weight == 0 ? " down;\n" : ";\n");
        }

        text.Append("        keepalive 64;\n    }\n");
        if (web.AccessLogFormat == "json")
        {
            text.Append("""    log_format strata_json escape=json '{"time":"$time_iso8601","remote":"$remote_addr","method":"$request_method","target":"$request_uri","protocol":"$server_protocol","status":$status,"bytes":$body_bytes_sent,"referer":"$http_referer","userAgent":"$http_user_agent","ms":$request_time}';""").Append('\n');
        }

        foreach (var node in topology.WebNodes)
        {
            Server(text, topology, node);
        }

        text.Append("}\n");
        return text.ToString();
    }

    private static void Server(StringBuilder text, Topology.Topology topology, NodeSpec node)
    {
        var web = topology.Web;
        var accessLog = web.AccessLogPath is not { } path ? "access_log off;"
            : $"access_log {path.Replace("{node}", node.Name, StringComparison.Ordinal)} {(web.AccessLogFormat == "json" ? "strata_json" : "combined")} buffer=64k flush=1s;";
        text.Append(CultureInfo.InvariantCulture, $$"""

                # {{node.Name}}
                server {
                    listen {{node.Address}};
                    root {{topology.WebRoot}};
                    index {{web.Index}};
                    {{accessLog}}
                    add_header X-Served-By {{node.Name}} always;
                    add_header X-Content-Type-Options nosniff always;
                    # Strata refuses symlinks out of the root (unless followSymlinksOutOfRoot); nginx's nearest is the owner check.
                    disable_symlinks {{(web.FollowSymlinksOutOfRoot ? "off" : "if_not_owner from=$document_root")}};

                    # Hidden files and folders are 404, except /.well-known/ (RFC 8615).
                    location ~ /\.(?!well-known/) {
                        return 404;
                    }

            """);
        foreach (var prefix in web.AppPrefixes)
        {
            text.Append(CultureInfo.InvariantCulture, $"        location {prefix} {{\n            proxy_pass http://app;\n        }}\n\n");
        }

        foreach (var prefix in web.StaticPrefixes)
        {
            text.Append(CultureInfo.InvariantCulture, $"        location {prefix} {{\n            try_files $uri =404;\n            add_header Cache-Control \"{WebSpec.DefaultCacheControl}\" always;\n            add_header X-Served-By {node.Name} always;\n        }}\n\n");
        }

        text.Append(CultureInfo.InvariantCulture, $$"""
                    # Fingerprinted names (hex or base64url with a digit and a letter) are immutable; Strata's rule is stricter.
                    location ~* "\.[0-9a-z_-]{8,}\.(css|js|mjs|png|jpg|jpeg|gif|svg|webp|avif|woff2?|wasm)$" {
                        try_files $uri @app;
                        add_header Cache-Control "{{WebSpec.ImmutableCacheControl}}" always;
                        add_header X-Served-By {{node.Name}} always;
                    }

                    # nginx's try_files $uri $uri/ @app, as Strata's web node does it.
                    location / {
                        try_files $uri $uri/ @app;
                        add_header Cache-Control "{{WebSpec.DefaultCacheControl}}" always;
                        add_header X-Served-By {{node.Name}} always;
                    }

                    location @app {
                        proxy_pass http://app;
                    }

            """);
        foreach (var (status, page) in web.ErrorPages.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var codes = status == "50x" ? "500 502 503 504" : status;
            text.Append(CultureInfo.InvariantCulture, $"        error_page {codes} {(page.StartsWith('/') ? page : "/" + page)};\n");
        }

        text.Append(CultureInfo.InvariantCulture, $$"""
                }

            """);
        if (!node.Management.Equals(node.Address))
        {
            text.Append(CultureInfo.InvariantCulture, $$"""
                    # {{node.Name}}'s management address: what the load balancers' health checks ask.
                    server {
                        listen {{node.Management}};
                        access_log off;
                        location = /healthz {
                            return 200 "alive\n";
                        }
                        location = /readyz {
                            return 200 "ready\n";
                        }
                        location / {
                            return 404;
                        }
                    }

                """);
        }
    }

    private static string Balance(BackendSpec backend) => backend.Algorithm switch
    {
        BalancingAlgorithms.LeastConnections => "least_conn;",
        BalancingAlgorithms.PowerOfTwo => "random two least_conn;",
        BalancingAlgorithms.Hash => backend.HashOn switch
        {
            HashKind.Path => "hash $uri consistent;",
            HashKind.Header => $"hash $http_{backend.HashHeader!.ToLowerInvariant().Replace('-', '_')} consistent;",
            _ => "hash $remote_addr consistent;",
        },
        // nginx has no "first": round robin is the nearest.
        _ => "# round robin (nginx's default)",
    };

    private static string NextUpstream(BackendSpec backend)
    {
        var on = new List<string>();
        if (backend.Retries == 0 || backend.RetryOn == RetryConditions.None)
        {
            return "off";
        }

        if (backend.RetryOn.HasFlag(RetryConditions.ConnectionFailure) || backend.RetryOn.HasFlag(RetryConditions.EmptyResponse))
        {
            on.Add("error");
        }

        if (backend.RetryOn.HasFlag(RetryConditions.ResponseTimeout))
        {
            on.Add("timeout");
        }

        if (backend.RetryOn.HasFlag(RetryConditions.Status503))
        {
            on.Add("http_503");
        }

        return string.Join(' ', on);
    }
}
