namespace Strata.Topology;

// The shape of strata.json, as written by a user. Every property is optional here so that the
// validator, not the JSON reader, reports what is missing, with the field's path.
// TopologyLoader turns a valid file into the immutable runtime model, Topology.

/// <summary>The whole topology file.</summary>
public sealed record TopologyOptions
{
    /// <summary>The DNS node and the zone it is authoritative for.</summary>
    public DnsOptions? Dns { get; init; }

    /// <summary>The virtual IP the load balancers share.</summary>
    public VipOptions? Vip { get; init; }

    /// <summary>The load balancer tier.</summary>
    public LoadBalancerTierOptions? LoadBalancers { get; init; }

    /// <summary>The web tier: static files, forwarding the rest to the app tier.</summary>
    public WebTierOptions? Web { get; init; }

    /// <summary>The application tier.</summary>
    public AppTierOptions? App { get; init; }

    /// <summary>Where the application's data lives.</summary>
    public DatabaseOptions? Database { get; init; }

    /// <summary>The admin API of the forwarding nodes.</summary>
    public AdminOptions? Admin { get; init; }

    /// <summary>The private network of <c>strata up --netns</c> (every node in its own network namespace).</summary>
    public NetnsOptions? Netns { get; init; }

    /// <summary>Where the nodes send their traces (docs/observability.md).</summary>
    public TelemetryOptions? Telemetry { get; init; }

    /// <summary>The live dashboard <c>strata up</c> serves (docs/dashboard.md).</summary>
    public DashboardOptions? Dashboard { get; init; }
}

/// <summary>
/// Traces of every request, load balancer to database, sent by OTLP to a collector (Jaeger, the Aspire dashboard, an
/// OpenTelemetry Collector). Without this section a node traces only when the OpenTelemetry SDK's variables
/// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT are set in its environment; else not at all.
/// </summary>
public sealed record TelemetryOptions
{
    /// <summary>The collector's OTLP base address, e.g. <c>http://127.0.0.1:4318</c> (/v1/traces is appended for http/protobuf).</summary>
    public string? OtlpEndpoint { get; init; }

    /// <summary><c>http/protobuf</c> (port 4318 by convention) or <c>grpc</c> (4317) [http/protobuf].</summary>
    public string? OtlpProtocol { get; init; }

    /// <summary>Share of new traces kept, 0–1; a request that comes with a sampled traceparent is always kept [1].</summary>
    public double? SampleRatio { get; init; }
}

/// <summary>The live dashboard of the running topology, served by <c>strata up</c> (docs/dashboard.md).</summary>
public sealed record DashboardOptions
{
    /// <summary>
    /// A loopback host:port it listens on [127.0.0.1:8099]. Loopback only: it has no TLS and its pages are read
    /// without the token (reach it from elsewhere through an SSH tunnel).
    /// </summary>
    public string? Address { get; init; }

    /// <summary>Whether <c>strata up</c> serves it [true]; <c>up --dashboard off</c> turns it off for one run.</summary>
    public bool? Enabled { get; init; }
}

/// <summary>The private network of <c>strata up --netns</c>.</summary>
public sealed record NetnsOptions
{
    /// <summary>
    /// A private IPv4 subnet, /16 to /24 [10.201.0.0/24]: the host gets .1, the nodes .10 on in topology order
    /// (DNS, load balancers, web, app, the managed database), the VIP .100; ports stay as written.
    /// </summary>
    public string? Subnet { get; init; }
}

/// <summary>The admin API (server weights, drain, maintenance) on each load balancer's and web node's management address.</summary>
public sealed record AdminOptions
{
    /// <summary>The environment variable a node reads the token from when the file has none.</summary>
    public const string TokenEnvironmentVariable = "STRATA_ADMIN_TOKEN";

    /// <summary>
    /// Bearer token the API requires [none: the environment variable STRATA_ADMIN_TOKEN, else the API is off;
    /// <c>strata up</c> generates one per run].
    /// </summary>
    public string? Token { get; init; }
}

/// <summary>The authoritative DNS node.</summary>
public sealed record DnsOptions
{
    /// <summary>Node name [dns].</summary>
    public string? Name { get; init; }

    /// <summary>UDP and TCP address the server answers on, as host:port.</summary>
    public string? Address { get; init; }

    /// <summary>HTTP address of /healthz and /readyz, as host:port.</summary>
    public string? Management { get; init; }

    /// <summary>The zone's apex, e.g. foobar.com.</summary>
    public string? Zone { get; init; }

    /// <summary>TTL of every record, in seconds [60].</summary>
    public int? Ttl { get; init; }

    /// <summary>A records: relative name ("@" for the apex) to an IPv4 address or "vip".</summary>
    public IReadOnlyDictionary<string, string>? Records { get; init; }

    /// <summary>Response rate limiting over UDP per client network (BIND's <c>rate-limit</c>) [on: 20/s, window 15 s, slip 2].</summary>
    public DnsRateLimitOptions? RateLimit { get; init; }
}

/// <summary>
/// Response rate limiting of the DNS node over UDP per client network, as BIND's <c>rate-limit { … }</c> (docs/security.md).
/// TCP is never limited: its source address cannot be forged.
/// </summary>
public sealed record DnsRateLimitOptions
{
    /// <summary>Responses per second to one client network, 0–1000; 0 turns limiting off [20] (BIND responses-per-second).</summary>
    public int? ResponsesPerSecond { get; init; }

    /// <summary>Seconds over which a network's excess is remembered, 1–3600 [15] (BIND window).</summary>
    public int? Window { get; init; }

    /// <summary>Every Nth limited response is sent truncated (TC=1) so a real client retries over TCP, the rest dropped; 0–10, 0 drops all [2] (BIND slip).</summary>
    public int? Slip { get; init; }

    /// <summary>IPv4 clients are grouped by this prefix length, 0–32 [24] (BIND ipv4-prefix-length).</summary>
    public int? Ipv4PrefixLength { get; init; }

    /// <summary>IPv6 clients are grouped by this prefix length, 0–128 [56] (BIND ipv6-prefix-length).</summary>
    public int? Ipv6PrefixLength { get; init; }

    /// <summary>Networks tracked at most, in a table allocated once, 64–1,048,576 [65,536: 2 MiB] (BIND max-table-size).</summary>
    public int? TableSize { get; init; }
}

/// <summary>The virtual IP address.</summary>
public sealed record VipOptions
{
    /// <summary>The address clients connect to, as host:port.</summary>
    public string? Address { get; init; }

    /// <summary>VRRP virtual router id, 1–255 [51] (keepalived virtual_router_id).</summary>
    public int? RouterId { get; init; }

    /// <summary>VRRP advertisement interval in centiseconds, 1–4095 [10 = 100 ms] (keepalived advert_int, default 1 s).</summary>
    public int? AdvertIntervalCs { get; init; }

    /// <summary>Whether a higher-priority node takes the VIP back from a live master [true].</summary>
    public bool? Preempt { get; init; }

    /// <summary>Milliseconds a node waits after start before preempting [0] (keepalived preempt_delay).</summary>
    public int? PreemptDelayMs { get; init; }

    /// <summary>UDP port the load balancers exchange VRRP advertisements on, on loopback [5798].</summary>
    public int? Port { get; init; }

    /// <summary>
    /// Priority a load balancer loses while it cannot serve (no healthy web node) [150]; must exceed the gap
    /// between the load balancers' priorities, or the VIP would never move (keepalived track_script weight).
    /// </summary>
    public int? TrackWeight { get; init; }

    /// <summary>
    /// "active-passive": only the master listens on the VIP; "active-active": every load balancer does, with
    /// SO_REUSEPORT, and the kernel spreads new connections over them [active-passive].
    /// </summary>
    public string? Mode { get; init; }

    /// <summary>
    /// Program run on each VRRP state change with the arguments STATE (MASTER, BACKUP, STOPPED), node name, VIP and
    /// priority, relative to the topology file [none] (keepalived's notify).
    /// </summary>
    public string? Notify { get; init; }

    /// <summary>
    /// On real hosts: the network interface the master adds the VIP to, with VRRP on the wire (IP protocol 112,
    /// multicast 224.0.0.18) as keepalived does; needs root [none: the VIP is a loopback address:port].
    /// <c>strata up --netns</c> sets it to the namespaces' eth0.
    /// </summary>
    public string? Interface { get; init; }

    /// <summary>HTTPS on the VIP, terminated by the load balancers (docs/tls.md) [none: plain HTTP only].</summary>
    public VipTlsOptions? Tls { get; init; }

    /// <summary>
    /// Client connections the VIP holds at once on each load balancer, HTTP and HTTPS together; beyond, a new one gets
    /// 503 and is closed (HAProxy's maxconn, nginx's worker_connections) [10000].
    /// </summary>
    public int? MaxConnections { get; init; }

    /// <summary>Connections one client address holds at once on the VIP; beyond, 429 and closed (nginx's limit_conn, HAProxy's sc_conn_cur) [512; 0: no limit].</summary>
    public int? MaxConnectionsPerClient { get; init; }
}

/// <summary>A tier of identical servers.</summary>
public record TierOptions
{
    /// <summary>The tier's servers.</summary>
    public IReadOnlyList<NodeOptions>? Nodes { get; init; }
}

/// <summary>
/// A tier that another tier forwards to. Besides the nodes, it says how the tier in front treats them as a
/// backend (HAProxy's <c>backend</c> section): health checks, balancing, retries, limits, timeouts, persistence.
/// </summary>
public record BackendTierOptions : TierOptions
{
    /// <summary>Active health checks of these servers.</summary>
    public HealthCheckOptions? HealthCheck { get; init; }

    /// <summary>How a server is chosen for a request.</summary>
    public BalancingOptions? Balancing { get; init; }

    /// <summary>Failed requests that take a server out before the next active check.</summary>
    public PassiveHealthOptions? PassiveHealth { get; init; }

    /// <summary>Retrying a failed request on another server.</summary>
    public RetryOptions? Retries { get; init; }

    /// <summary>Milliseconds over which a server coming back ramps up to its full weight [0: off].</summary>
    public int? SlowStartMs { get; init; }

    /// <summary>Concurrency limits per server, and the queue in front of them.</summary>
    public LimitOptions? Limits { get; init; }

    /// <summary>Connect, server and client timeouts.</summary>
    public TimeoutOptions? Timeouts { get; init; }

    /// <summary>Cookie-based session persistence [off].</summary>
    public PersistenceOptions? Persistence { get; init; }
}

/// <summary>The application tier: the built-in application, or the user's own (<see cref="Command"/>).</summary>
public sealed record AppTierOptions : BackendTierOptions
{
    /// <summary>Runs the user's own HTTP application on each app node instead of the built-in one [none] (docs/own-app.md).</summary>
    public AppCommandOptions? Command { get; init; }

    /// <summary>
    /// The built-in application also serves the TechEmpower benchmarks under /bench/ and keeps their World and Fortune
    /// tables in the database [false]; the benchmark harness turns it on.
    /// </summary>
    public bool? BenchmarkEndpoints { get; init; }

    /// <summary>Named pools of app nodes beside the default one, e.g. { "api": { "nodes": [...] } }, for the web tier's routes [none].</summary>
    public IReadOnlyDictionary<string, PoolOptions>? Pools { get; init; }
}

/// <summary>
/// The user's own application: a program each app node runs as a child process and forwards its requests to
/// (as a Procfile's <c>web:</c> line, or gunicorn behind nginx).
/// </summary>
public sealed record AppCommandOptions
{
    /// <summary>
    /// The program and its arguments, e.g. ["python3", "app.py"]; a program with '/' in it is relative to the
    /// topology file, otherwise looked up on PATH.
    /// </summary>
    public IReadOnlyList<string>? Run { get; init; }

    /// <summary>Path the node requests on the application to decide /readyz; 2xx is ready [/].</summary>
    public string? HealthPath { get; init; }

    /// <summary>Directory the program runs in, relative to the topology file [the topology file's directory].</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Extra environment variables (PORT, HOST, DATABASE_URL and STRATA_DATABASE are set by the node).</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }
}

/// <summary>The load balancer tier.</summary>
public sealed record LoadBalancerTierOptions : TierOptions
{
    /// <summary>
    /// Peers (addresses or CIDR ranges) whose X-Forwarded-* headers are kept and extended; from anyone
    /// else they are replaced [none].
    /// </summary>
    public IReadOnlyList<string>? TrustedProxies { get; init; }

    /// <summary>How the load balancers route requests to the web tier's pools, first match first (docs/routing.md) [none: all to "web"].</summary>
    public IReadOnlyList<RouteOptions>? Routes { get; init; }

    /// <summary>
    /// Each load balancer's request log (docs/security.md): path [.strata/logs/{node}.requests.log] and format
    /// "httplog" (HAProxy's fields), "json" or "off" [httplog].
    /// </summary>
    public AccessLogOptions? RequestLog { get; init; }
}

/// <summary>How a server is chosen.</summary>
public sealed record BalancingOptions
{
    /// <summary>round-robin (weighted) | least-connections | power-of-two | first | hash [round-robin].</summary>
    public string? Algorithm { get; init; }

    /// <summary>For hash: "source" (client address), "path", or "header:NAME" [source].</summary>
    public string? HashOn { get; init; }
}

/// <summary>Passive health: failures seen on real traffic.</summary>
public sealed record PassiveHealthOptions
{
    /// <summary>Failed requests in a row (connection failure, reset, 5xx other than 503) that take a server out [3; 0: off].</summary>
    public int? ConsecutiveFailures { get; init; }
}

/// <summary>Retries on another server.</summary>
public sealed record RetryOptions
{
    /// <summary>Attempts after the first [3].</summary>
    public int? Count { get; init; }

    /// <summary>Methods retried after the request was sent [GET, HEAD, OPTIONS, PUT, DELETE]; a connection failure is retried for any method.</summary>
    public IReadOnlyList<string>? Methods { get; init; }

    /// <summary>
    /// The failures retried, as HAProxy's <c>retry-on</c> [conn-failure, empty-response, response-timeout]; add
    /// <c>503</c> to retry a 503 answer to a request of <see cref="Methods"/> without a body on another server.
    /// </summary>
    public IReadOnlyList<string>? On { get; init; }
}

/// <summary>Per-server concurrency limit and the queue.</summary>
public sealed record LimitOptions
{
    /// <summary>Concurrent requests per server [0: no limit] (HAProxy maxconn).</summary>
    public int? MaxRequestsPerServer { get; init; }

    /// <summary>Requests that may wait for a free server [1024]; beyond it, 503.</summary>
    public int? MaxQueue { get; init; }

    /// <summary>Milliseconds a request may wait in the queue [5000]; then 503.</summary>
    public int? QueueTimeoutMs { get; init; }
}

/// <summary>Timeouts; none is infinite.</summary>
public sealed record TimeoutOptions
{
    /// <summary>Milliseconds to open a connection to a server [2000]; then the next server, or 503.</summary>
    public int? ConnectMs { get; init; }

    /// <summary>Milliseconds of server silence while waiting for or reading its response [30000]; then 504.</summary>
    public int? ServerMs { get; init; }

    /// <summary>Milliseconds a client may take to send request headers, and to stay idle between requests [30000].</summary>
    public int? ClientMs { get; init; }
}

/// <summary>Cookie-based persistence.</summary>
public sealed record PersistenceOptions
{
    /// <summary>Name of the cookie that pins a client to a server, e.g. "SERVERID".</summary>
    public string? Cookie { get; init; }
}

/// <summary>The web tier.</summary>
public sealed record WebTierOptions : BackendTierOptions
{
    /// <summary>Directory of static files, relative to the topology file [wwwroot].</summary>
    public string? Root { get; init; }

    /// <summary>How the web nodes serve files and split static from dynamic (docs/web.md: each next to nginx's).</summary>
    public StaticOptions? Static { get; init; }

    /// <summary>What a web node accepts from its clients (the load balancers).</summary>
    public ClientLimitOptions? Client { get; init; }

    /// <summary>Pages under the web root answered for errors, e.g. { "404": "/404.html", "50x": "/50x.html" } (nginx error_page).</summary>
    public IReadOnlyDictionary<string, string>? ErrorPages { get; init; }

    /// <summary>Each web node's access log.</summary>
    public AccessLogOptions? AccessLog { get; init; }

    /// <summary>The headers every answer of a web node carries, files and forwarded pages alike, unless the app set its own (docs/security.md).</summary>
    public SecurityHeadersOptions? SecurityHeaders { get; init; }

    /// <summary>Named pools of web nodes beside the default one, for the load balancers' routes [none].</summary>
    public IReadOnlyDictionary<string, PoolOptions>? Pools { get; init; }

    /// <summary>How the web nodes route requests to the app tier's pools, first match first (docs/routing.md) [none: all to "app"].</summary>
    public IReadOnlyList<RouteOptions>? Routes { get; init; }
}

/// <summary>Static files (nginx: try_files, index, disable_symlinks, gzip_static, gzip, expires, open_file_cache).</summary>
public sealed record StaticOptions
{
    /// <summary>Path prefixes always forwarded to the app tier, even when a file matches [["/api/"]].</summary>
    public IReadOnlyList<string>? AppPrefixes { get; init; }

    /// <summary>Path prefixes always answered by the web node: a missing file is 404, never forwarded [["/static/"]].</summary>
    public IReadOnlyList<string>? StaticPrefixes { get; init; }

    /// <summary>File served for a directory [index.html]; directories are never listed.</summary>
    public string? Index { get; init; }

    /// <summary>Whether symbolic links may lead out of the root [false] (nginx disable_symlinks if_not_owner-like).</summary>
    public bool? FollowSymlinksOutOfRoot { get; init; }

    /// <summary>Text files at least this large are compressed on the fly when no .br/.gz sibling exists [1024] (gzip_min_length).</summary>
    public int? CompressMinBytes { get; init; }

    /// <summary>Total bytes of the hot-file memory cache [67108864 = 64 MiB]; 0: off.</summary>
    public long? MemoryCacheBytes { get; init; }

    /// <summary>Files larger than this are streamed from disk, never cached in memory [1048576 = 1 MiB].</summary>
    public long? MemoryCacheMaxFileBytes { get; init; }

    /// <summary>
    /// Longest a cached file is served without checking the disk [1000] (open_file_cache_valid); changes are
    /// usually seen at once through a file watcher, this bounds a missed one; 0: check on every request.
    /// </summary>
    public int? RevalidateMs { get; init; }

    /// <summary>
    /// Cache-Control by path prefix, the longest match wins, e.g. { "/static/": "public, max-age=3600" }. Defaults:
    /// fingerprinted names (a hash of 8+ hex or base64url characters before the extension) get
    /// "public, max-age=31536000, immutable"; other files "public, max-age=60, must-revalidate".
    /// </summary>
    public IReadOnlyDictionary<string, string>? CacheControl { get; init; }
}

/// <summary>Limits on what clients send (nginx client_max_body_size, large_client_header_buffers, client_*_timeout).</summary>
public sealed record ClientLimitOptions
{
    /// <summary>Largest request body [1048576 = 1 MiB]; larger: 413.</summary>
    public long? MaxBodyBytes { get; init; }

    /// <summary>Largest request line [8192]; longer: 414.</summary>
    public int? MaxRequestLineBytes { get; init; }

    /// <summary>Largest total of request headers [32768]; more: 431.</summary>
    public int? MaxHeaderBytes { get; init; }

    /// <summary>Slowest body upload accepted, bytes per second after a 5 s grace [240, Kestrel's]; slower: the connection is closed.</summary>
    public int? MinBodyBytesPerSecond { get; init; }
}

/// <summary>
/// The security headers of the site's pages (nginx's <c>add_header … always</c> in the server block), each the header's
/// value; "" leaves that header out. The app's own value of a header wins.
/// </summary>
public sealed record SecurityHeadersOptions
{
    /// <summary>Content-Security-Policy ["default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"].</summary>
    public string? ContentSecurityPolicy { get; init; }

    /// <summary>Referrer-Policy: one of the policy tokens of the W3C Referrer Policy ["strict-origin-when-cross-origin"].</summary>
    public string? ReferrerPolicy { get; init; }

    /// <summary>X-Frame-Options: DENY or SAMEORIGIN ["DENY"].</summary>
    public string? FrameOptions { get; init; }

    /// <summary>X-Content-Type-Options: nosniff ["nosniff"].</summary>
    public string? ContentTypeOptions { get; init; }
}

/// <summary>A log file of each node of a tier: web.accessLog, loadBalancers.requestLog.</summary>
public sealed record AccessLogOptions
{
    /// <summary>File, relative to the topology file; {node} is the node's name [.strata/logs/{node}.access.log; .strata/logs/{node}.requests.log].</summary>
    public string? Path { get; init; }

    /// <summary>web: "combined" (nginx's), "json" (one object per line) or "off" [combined]; loadBalancers: "httplog", "json" or "off" [httplog].</summary>
    public string? Format { get; init; }
}

/// <summary>One server.</summary>
public sealed record NodeOptions
{
    /// <summary>Unique node name, e.g. web-1.</summary>
    public string? Name { get; init; }

    /// <summary>Where the node serves traffic, as host:port.</summary>
    public string? Address { get; init; }

    /// <summary>
    /// Where its /healthz, /readyz, /metrics, /stats and admin API answer, as host:port [its address]. A separate
    /// address keeps them out of reach of the site's clients.
    /// </summary>
    public string? Management { get; init; }

    /// <summary>Share of new requests, 0–256 [1]; 0 takes no new traffic.</summary>
    public int? Weight { get; init; }

    /// <summary>A load balancer's VRRP priority, 1–255 [100]; the highest holds the VIP, 255 is the address owner.</summary>
    public int? Priority { get; init; }
}

/// <summary>Active health check of a tier's servers by the tier in front of it.</summary>
public sealed record HealthCheckOptions
{
    /// <summary>Path requested on each server [/readyz].</summary>
    public string? Path { get; init; }

    /// <summary>Milliseconds between checks [2000] (HAProxy inter).</summary>
    public int? IntervalMs { get; init; }

    /// <summary>Milliseconds between checks while a server is changing state [500] (HAProxy fastinter).</summary>
    public int? FastIntervalMs { get; init; }

    /// <summary>Milliseconds before a check counts as failed [the interval] (HAProxy timeout check).</summary>
    public int? TimeoutMs { get; init; }

    /// <summary>Consecutive failures that take a server out [3].</summary>
    public int? Fall { get; init; }

    /// <summary>Consecutive successes that bring it back [2].</summary>
    public int? Rise { get; init; }
}

/// <summary>The database.</summary>
public sealed record DatabaseOptions
{
    /// <summary>Engine name: "sqlite" (embedded) or "mysql" (a MySQL or MariaDB server) [sqlite].</summary>
    public string? Engine { get; init; }

    /// <summary>SQLite file, relative to the topology file [.strata/foobar.db].</summary>
    public string? Path { get; init; }

    /// <summary>
    /// MySQL connection string, e.g. "Server=127.0.0.1;Port=3306;Database=foobar;User ID=strata;Password=...";
    /// required when the engine is "mysql" and the server is not managed, refused when it is.
    /// </summary>
    public string? ConnectionString { get; init; }

    /// <summary>
    /// With engine "mysql": Strata runs the server itself, as the node <see cref="Node"/> — a MariaDB or MySQL
    /// server found on the machine, its data under the run folder [false]. <c>strata up --db mysql</c> sets it.
    /// </summary>
    public bool? Managed { get; init; }

    /// <summary>
    /// A managed server of one node: name [db-1], address (where the server listens) [127.0.4.1:3306] and management
    /// (its /healthz and /readyz) [127.0.4.1:8081]. Kept for files written before <see cref="Nodes"/>.
    /// </summary>
    public NodeOptions? Node { get; init; }

    /// <summary>
    /// The managed servers' nodes, a primary and its replicas (docs/database.md) [db-1 on 127.0.4.1, db-2 on
    /// 127.0.4.2; MySQL's port 3306, management 8081]. A node without an address gets the next default one.
    /// </summary>
    public List<NodeOptions?>? Nodes { get; init; }
}
