using System.Collections.Immutable;
using System.Net;

namespace Strata.Topology;

/// <summary>The roles a node can play.</summary>
public enum NodeRole
{
    /// <summary>Authoritative DNS server.</summary>
    Dns,

    /// <summary>Load balancer sharing the VIP.</summary>
    LoadBalancer,

    /// <summary>Static files, forwarding the rest.</summary>
    Web,

    /// <summary>The foobar.com application.</summary>
    App,

    /// <summary>The MySQL/MariaDB server Strata runs itself (<c>database.managed</c>).</summary>
    Database,
}

/// <summary>One node of a validated topology.</summary>
/// <param name="Name">Unique name, e.g. web-1.</param>
/// <param name="Role">What it runs.</param>
/// <param name="Address">Where it serves traffic (for DNS: UDP and TCP).</param>
/// <param name="Management">Where its /healthz and /readyz answer over HTTP.</param>
/// <param name="Weight">Share of new requests as a backend server, 0–256.</param>
/// <param name="Priority">A load balancer's VRRP priority, 1–255.</param>
public sealed record NodeSpec(string Name, NodeRole Role, IPEndPoint Address, IPEndPoint Management, int Weight = 1, int Priority = 100)
{
    /// <summary>Base URL of the management endpoints.</summary>
    public Uri ManagementUrl => new($"http://{Management}/");
}

/// <summary>The validated VRRP settings of the load balancer cluster (RFC 5798).</summary>
/// <param name="RouterId">Virtual router id, 1–255.</param>
/// <param name="AdvertInterval">Advertisement interval (centisecond resolution).</param>
/// <param name="Preempt">Whether a higher priority takes the VIP from a live master.</param>
/// <param name="PreemptDelay">Wait after start before preempting.</param>
/// <param name="Port">UDP port for advertisements between load balancers on loopback.</param>
/// <param name="TrackWeight">Priority lost while the node cannot serve.</param>
/// <param name="ActiveActive">Every load balancer listens on the VIP (the kernel spreads connections); VRRP still elects one master.</param>
/// <param name="NotifyCommand">Absolute path of a program run on each state change (keepalived's notify), or null.</param>
/// <param name="Interface">The interface the master adds the VIP to, with VRRP on the wire (IP protocol 112); null: loopback VIP, adverts over UDP.</param>
public sealed record VrrpSpec(
    int RouterId, TimeSpan AdvertInterval, bool Preempt, TimeSpan PreemptDelay, int Port, int TrackWeight, bool ActiveActive = false, string? NotifyCommand = null, string? Interface = null)
{
    /// <summary>Strata's defaults: VRID 51, 100 ms adverts, preempt at once, port 5798, track weight 150.</summary>
    public static readonly VrrpSpec Default = new(51, TimeSpan.FromMilliseconds(100), true, TimeSpan.Zero, 5798, 150);
}

/// <summary>How many client connections a listener holds at once (docs/security.md).</summary>
/// <param name="Max">In all; beyond, a new connection gets 503 and is closed.</param>
/// <param name="PerClient">From one client address; beyond, 429 and closed; 0 for no limit.</param>
public sealed record ConnectionLimitSpec(int Max, int PerClient)
{
    /// <summary>10,000 in all (HAProxy's maxconn is derived from the descriptor limit, nginx's worker_connections is 768 on Debian), 512 per client (neither limits by default).</summary>
    public static readonly ConnectionLimitSpec Default = new(10_000, 512);
}

/// <summary>HTTPS on the VIP, validated (docs/tls.md).</summary>
/// <param name="Port">The TCP port on the VIP's address.</param>
/// <param name="Certificates">Absolute paths of each certificate chain and its key, the default first; the generated one when <paramref name="Generate"/>.</param>
/// <param name="Generate">Whether the certificate is the local CA's, made by <c>strata up</c> in <paramref name="Directory"/>.</param>
/// <param name="Directory">Absolute path of .strata/tls (the local CA and its certificate).</param>
/// <param name="RedirectHttp">Plain HTTP answers 301 to HTTPS, but the ACME challenge path.</param>
/// <param name="Hsts">Strict-Transport-Security on HTTPS answers, or null.</param>
public sealed record VipTlsSpec(int Port, ImmutableArray<CertificateFiles> Certificates, bool Generate, string Directory, bool RedirectHttp, HstsSpec? Hsts)
{
    /// <summary>
    /// TLS 1.2's suites of Mozilla's "intermediate" profile (ssl-config.mozilla.org, 5.7) in OpenSSL's names: only
    /// ECDHE/DHE with AES-GCM or ChaCha20-Poly1305. What the VIP offers, and HAProxy's export.
    /// </summary>
    public const string Tls12Ciphers =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
        + "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

    /// <summary>TLS 1.3's three suites, the profile's, in OpenSSL's names.</summary>
    public const string Tls13Ciphers = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

    /// <summary>The path certbot's webroot mode writes under the web root, left on plain HTTP by the redirect.</summary>
    public const string AcmeChallengePrefix = "/.well-known/acme-challenge/";

    /// <summary>
    /// With <see cref="RedirectHttp"/>, the load balancers' first route: plain HTTP but the ACME challenge answers 301 to
    /// the same host, path and query over HTTPS (on <see cref="Port"/> when it is not 443); otherwise none.
    /// </summary>
    public ImmutableArray<RouteSpec> Routes => RedirectHttp
        ? [new RouteSpec(
            "https-redirect",
            RouteMatchSpec.All with { Schemes = ["http"], ExceptPaths = [AcmeChallengePrefix] },
            "web",
            [new RedirectRule(301, Port == 443 ? "https://$host$request_uri" : $"https://$host:{Port}$request_uri")],
            [])]
        : [];
}

/// <summary>HTTP Strict Transport Security, validated.</summary>
public sealed record HstsSpec(TimeSpan MaxAge, bool IncludeSubDomains, bool Preload)
{
    /// <summary>The Strict-Transport-Security value (RFC 6797 §6.1), e.g. <c>max-age=31536000; includeSubDomains</c>.</summary>
    public string HeaderValue => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"max-age={(long)MaxAge.TotalSeconds}")
        + (IncludeSubDomains ? "; includeSubDomains" : "") + (Preload ? "; preload" : "");
}

/// <summary>A certificate chain and its private key, as PEM files.</summary>
public sealed record CertificateFiles(string Certificate, string Key);

/// <summary>A validated active health check.</summary>
/// <param name="Path">Requested with GET on each server.</param>
/// <param name="Interval">Between checks of a server in a steady state.</param>
/// <param name="FastInterval">Between checks of a server changing state (some, not all, of fall or rise seen).</param>
/// <param name="Timeout">Before a check counts as failed.</param>
/// <param name="Fall">Failures in a row that take a server DOWN.</param>
/// <param name="Rise">Successes in a row that bring it UP.</param>
public sealed record HealthCheckSpec(string Path, TimeSpan Interval, TimeSpan FastInterval, TimeSpan Timeout, int Fall, int Rise)
{
    /// <summary>HAProxy's defaults: inter 2 s, fall 3, rise 2, timeout = inter; fastinter 500 ms.</summary>
    public static readonly HealthCheckSpec Default = new("/readyz", TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(2), 3, 2);
}

/// <summary>The balancing algorithm names accepted in strata.json.</summary>
public static class BalancingAlgorithms
{
    /// <summary>Weighted round robin (smooth, as nginx's): the default.</summary>
    public const string RoundRobin = "round-robin";

    /// <summary>Fewest requests in flight relative to weight.</summary>
    public const string LeastConnections = "least-connections";

    /// <summary>Two servers at random, the less loaded of them.</summary>
    public const string PowerOfTwo = "power-of-two";

    /// <summary>The first server in topology order with room.</summary>
    public const string First = "first";

    /// <summary>Consistent hashing on the source address, the path or a header.</summary>
    public const string Hash = "hash";

    /// <summary>Every name.</summary>
    public static readonly IReadOnlyList<string> All = [RoundRobin, LeastConnections, PowerOfTwo, First, Hash];
}

/// <summary>What consistent hashing hashes.</summary>
public enum HashKind
{
    /// <summary>The client's IP address.</summary>
    Source,

    /// <summary>The request path.</summary>
    Path,

    /// <summary>A request header's value.</summary>
    Header,
}

/// <summary>The failures a request is retried on, on another server (HAProxy's <c>retry-on</c>).</summary>
[Flags]
public enum RetryConditions
{
    /// <summary>Nothing is retried.</summary>
    None = 0,

    /// <summary><c>conn-failure</c>: no connection could be made, so nothing was sent; retried for any method.</summary>
    ConnectionFailure = 1,

    /// <summary><c>empty-response</c>: sent, then closed or reset before any response; retry methods only.</summary>
    EmptyResponse = 2,

    /// <summary><c>response-timeout</c>: sent, then no response within the server timeout; retry methods only.</summary>
    ResponseTimeout = 4,

    /// <summary><c>503</c>: the server answered 503; retry methods without a body only, the answer discarded unseen.</summary>
    Status503 = 8,

    /// <summary>What is retried when <c>retries.on</c> is absent.</summary>
    Default = ConnectionFailure | EmptyResponse | ResponseTimeout,
}

/// <summary>The <c>retries.on</c> names accepted in strata.json, as HAProxy's <c>retry-on</c> spells them.</summary>
public static class RetryConditionNames
{
    /// <summary>See <see cref="RetryConditions.ConnectionFailure"/>.</summary>
    public const string ConnectionFailure = "conn-failure";

    /// <summary>See <see cref="RetryConditions.EmptyResponse"/>.</summary>
    public const string EmptyResponse = "empty-response";

    /// <summary>See <see cref="RetryConditions.ResponseTimeout"/>.</summary>
    public const string ResponseTimeout = "response-timeout";

    /// <summary>See <see cref="RetryConditions.Status503"/>.</summary>
    public const string Status503 = "503";

    /// <summary>Every name with its condition.</summary>
    public static readonly IReadOnlyList<(string Name, RetryConditions Condition)> All =
    [
        (ConnectionFailure, RetryConditions.ConnectionFailure),
        (EmptyResponse, RetryConditions.EmptyResponse),
        (ResponseTimeout, RetryConditions.ResponseTimeout),
        (Status503, RetryConditions.Status503),
    ];
}

/// <summary>A validated backend: how a tier in front treats the servers of the tier behind it.</summary>
public sealed record BackendSpec
{
    /// <summary>The defaults, as documented on <see cref="BackendTierOptions"/>.</summary>
    public static readonly BackendSpec Default = new();

    /// <summary>Active health checks.</summary>
    public HealthCheckSpec HealthCheck { get; init; } = HealthCheckSpec.Default;

    /// <summary>One of <see cref="BalancingAlgorithms"/>.</summary>
    public string Algorithm { get; init; } = BalancingAlgorithms.RoundRobin;

    /// <summary>For <see cref="BalancingAlgorithms.Hash"/>: what is hashed.</summary>
    public HashKind HashOn { get; init; } = HashKind.Source;

    /// <summary>For <see cref="HashKind.Header"/>: the header's name.</summary>
    public string? HashHeader { get; init; }

    /// <summary>Failed requests in a row that take a server out; 0: off.</summary>
    public int PassiveFailures { get; init; } = 3;

    /// <summary>Attempts after the first.</summary>
    public int Retries { get; init; } = 3;

    /// <summary>Methods retried after the request was sent (upper case).</summary>
    public ImmutableHashSet<string> RetryMethods { get; init; } = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"];

    /// <summary>The failures retried on another server.</summary>
    public RetryConditions RetryOn { get; init; } = RetryConditions.Default;

    /// <summary>Ramp-up of a server coming back; zero: off.</summary>
    public TimeSpan SlowStart { get; init; } = TimeSpan.Zero;

    /// <summary>Concurrent requests per server; 0: no limit.</summary>
    public int MaxRequestsPerServer { get; init; }

    /// <summary>Requests that may wait for a free server.</summary>
    public int MaxQueue { get; init; } = 1024;

    /// <summary>How long a request may wait in the queue.</summary>
    public TimeSpan QueueTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>To open a connection to a server.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Server silence while waiting for or reading its response.</summary>
    public TimeSpan ServerTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>For request headers, and idle keep-alive, on the forwarding node's own listener.</summary>
    public TimeSpan ClientTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Name of the persistence cookie, or null when off.</summary>
    public string? PersistenceCookie { get; init; }
}

/// <summary>A validated DNS zone.</summary>
/// <param name="Zone">Apex, lower case, without the trailing dot.</param>
/// <param name="Ttl">TTL of every record.</param>
/// <param name="Records">A records, keyed by fully qualified lower-case name without the trailing dot.</param>
public sealed record DnsZoneSpec(string Zone, TimeSpan Ttl, ImmutableDictionary<string, IPAddress> Records);

/// <summary>The DNS node's response rate limiting over UDP, validated (<see cref="DnsRateLimitOptions"/>).</summary>
public sealed record DnsRateLimitSpec
{
    /// <summary>The defaults, as documented on <see cref="DnsRateLimitOptions"/>.</summary>
    public static readonly DnsRateLimitSpec Default = new();

    /// <summary>Responses per second to one client network; 0: off.</summary>
    public int ResponsesPerSecond { get; init; } = 20;

    /// <summary>How long a network's excess is remembered: the most debt its account can build up.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Every Nth limited response is sent truncated, the others dropped; 0: all dropped.</summary>
    public int Slip { get; init; } = 2;

    /// <summary>Prefix length grouping IPv4 clients into one network.</summary>
    public int Ipv4PrefixLength { get; init; } = 24;

    /// <summary>Prefix length grouping IPv6 clients into one network.</summary>
    public int Ipv6PrefixLength { get; init; } = 56;

    /// <summary>Networks tracked at most (the table's fixed number of slots).</summary>
    public int TableSize { get; init; } = 65_536;
}

/// <summary>How the web nodes serve static files and what they accept from clients (docs/web.md).</summary>
public sealed record WebSpec
{
    /// <summary>The defaults, as documented on <see cref="StaticOptions"/>, <see cref="ClientLimitOptions"/> and <see cref="AccessLogOptions"/>.</summary>
    public static readonly WebSpec Default = new();

    /// <summary>Cache-Control of fingerprinted files.</summary>
    public const string ImmutableCacheControl = "public, max-age=31536000, immutable";

    /// <summary>Cache-Control of other files when no rule matches.</summary>
    public const string DefaultCacheControl = "public, max-age=60, must-revalidate";

    /// <summary>Prefixes always forwarded to the app tier.</summary>
    public ImmutableArray<string> AppPrefixes { get; init; } = ["/api/"];

    /// <summary>Prefixes always answered by the web node (404 when missing).</summary>
    public ImmutableArray<string> StaticPrefixes { get; init; } = ["/static/"];

    /// <summary>File served for a directory.</summary>
    public string Index { get; init; } = "index.html";

    /// <summary>Whether symbolic links may lead out of the web root.</summary>
    public bool FollowSymlinksOutOfRoot { get; init; }

    /// <summary>On-the-fly compression threshold.</summary>
    public int CompressMinBytes { get; init; } = 1024;

    /// <summary>Total size of the hot-file cache; 0: off.</summary>
    public long MemoryCacheBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Largest file kept in the hot-file cache.</summary>
    public long MemoryCacheMaxFileBytes { get; init; } = 1024 * 1024;

    /// <summary>How long a cached file is served without a stat (besides the watcher's invalidation); 0: a stat per hit.</summary>
    public int RevalidateMs { get; init; } = 1000;

    /// <summary>Cache-Control by path prefix, longest first.</summary>
    public ImmutableArray<(string Prefix, string Value)> CacheControl { get; init; } = [];

    /// <summary>Largest request body (413 above).</summary>
    public long MaxBodyBytes { get; init; } = 1024 * 1024;

    /// <summary>Largest request line (414 above).</summary>
    public int MaxRequestLineBytes { get; init; } = 8192;

    /// <summary>Largest request headers in total (431 above).</summary>
    public int MaxHeaderBytes { get; init; } = 32 * 1024;

    /// <summary>Slowest accepted upload rate.</summary>
    public int MinBodyBytesPerSecond { get; init; } = 240;

    /// <summary>Error pages by status ("404", "50x" for 500–599, or an exact code), as paths under the web root.</summary>
    public ImmutableDictionary<string, string> ErrorPages { get; init; } = ImmutableDictionary<string, string>.Empty;

    /// <summary>Absolute access log path with {node} in it, or null when off.</summary>
    public string? AccessLogPath { get; init; }

    /// <summary>"combined" or "json".</summary>
    public string AccessLogFormat { get; init; } = "combined";

    /// <summary>The headers every answer carries unless the app set its own, by name, in the order written (<see cref="SecurityHeadersOptions"/>).</summary>
    public ImmutableArray<(string Name, string Value)> SecurityHeaders { get; init; } =
    [
        ("Content-Security-Policy", "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
    ];
}

/// <summary>A validated database choice.</summary>
/// <param name="Engine">"sqlite" or "mysql".</param>
/// <param name="Path">
/// Absolute path of the SQLite database file; for managed servers, the folder of what they share (the application
/// account's password, the replication account's; see <see cref="ManagedDatabase"/>), each node's own data being in
/// <see cref="ManagedDatabase.NodeFolder"/>; unused for another MySQL server.
/// </param>
/// <param name="ConnectionString">
/// The MySQL connection string of a server Strata does not run; null otherwise. Checked only for shape here: the
/// provider parses it.
/// </param>
/// <param name="Nodes">
/// The database nodes Strata runs (engine "mysql", <c>managed</c>): a primary and its replicas, which is which decided
/// at run time (docs/database.md); empty when Strata runs no server.
/// </param>
public sealed record DatabaseSpec(string Engine, string Path, string? ConnectionString = null, ImmutableArray<NodeSpec> Nodes = default)
{
    /// <summary>The managed servers' nodes, none when Strata runs no server.</summary>
    public ImmutableArray<NodeSpec> Nodes { get; init; } = Nodes.IsDefault ? [] : Nodes;

    /// <summary>Whether Strata runs the servers itself, as the nodes <see cref="Nodes"/>.</summary>
    public bool Managed => !Nodes.IsEmpty;
}

/// <summary>The user's own application, validated (docs/own-app.md).</summary>
/// <param name="Run">The program (absolute when it was given with a '/', else a name looked up on PATH at start) and its arguments.</param>
/// <param name="HealthPath">Requested on the application to decide the node's /readyz; 2xx is ready.</param>
/// <param name="WorkingDirectory">Absolute directory the program runs in.</param>
/// <param name="Environment">Extra environment variables.</param>
public sealed record AppCommandSpec(ImmutableArray<string> Run, string HealthPath, string WorkingDirectory, ImmutableDictionary<string, string> Environment)
{
    /// <summary>The variables the app node sets itself; the topology may not set them.</summary>
    public static readonly IReadOnlyList<string> ReservedVariables = ["PORT", "HOST", "DATABASE_URL", "STRATA_DATABASE"];
}

/// <summary>Where the nodes send their traces, validated (<see cref="TelemetryOptions"/>).</summary>
/// <param name="OtlpEndpoint">The collector's OTLP base address (http or https).</param>
/// <param name="OtlpProtocol">One of <see cref="Protocols"/>.</param>
/// <param name="SampleRatio">Share of new traces kept, 0–1.</param>
public sealed record TelemetrySpec(Uri OtlpEndpoint, string OtlpProtocol = TelemetrySpec.HttpProtobuf, double SampleRatio = 1)
{
    /// <summary>OTLP over HTTP with protobuf bodies.</summary>
    public const string HttpProtobuf = "http/protobuf";

    /// <summary>OTLP over gRPC.</summary>
    public const string Grpc = "grpc";

    /// <summary>The protocols a node can export with.</summary>
    public static readonly IReadOnlyList<string> Protocols = [HttpProtobuf, Grpc];
}

/// <summary>A loaded and validated topology: the immutable model every role reads its part of.</summary>
public sealed record Topology
{
    /// <summary>Absolute path of the file it was loaded from.</summary>
    public required string SourcePath { get; init; }

    /// <summary>The DNS node.</summary>
    public required NodeSpec Dns { get; init; }

    /// <summary>The zone the DNS node serves.</summary>
    public required DnsZoneSpec Zone { get; init; }

    /// <summary>How the DNS node limits its responses over UDP per client network.</summary>
    public DnsRateLimitSpec DnsRateLimit { get; init; } = DnsRateLimitSpec.Default;

    /// <summary>The virtual IP and port.</summary>
    public required IPEndPoint Vip { get; init; }

    /// <summary>HTTPS on the VIP, or null.</summary>
    public VipTlsSpec? VipTls { get; init; }

    /// <summary>How the load balancers elect the VIP's owner.</summary>
    public VrrpSpec Vrrp { get; init; } = VrrpSpec.Default;

    /// <summary>Load balancers, in file order.</summary>
    public required ImmutableArray<NodeSpec> LoadBalancers { get; init; }

    /// <summary>Web nodes, in file order.</summary>
    public required ImmutableArray<NodeSpec> WebNodes { get; init; }

    /// <summary>App nodes, in file order.</summary>
    public required ImmutableArray<NodeSpec> AppNodes { get; init; }

    /// <summary>How the load balancers treat the web nodes.</summary>
    public required BackendSpec WebBackend { get; init; }

    /// <summary>How the web nodes treat the app nodes.</summary>
    public required BackendSpec AppBackend { get; init; }

    /// <summary>Named pools of web nodes beside the default one (<see cref="WebNodes"/>).</summary>
    public ImmutableArray<PoolSpec> WebPools { get; init; } = [];

    /// <summary>Named pools of app nodes beside the default one (<see cref="AppNodes"/>).</summary>
    public ImmutableArray<PoolSpec> AppPools { get; init; } = [];

    /// <summary>How the load balancers route to the web pools, in order.</summary>
    public ImmutableArray<RouteSpec> LoadBalancerRoutes { get; init; } = [];

    /// <summary>How the web nodes route to the app pools, in order.</summary>
    public ImmutableArray<RouteSpec> WebRoutes { get; init; } = [];

    /// <summary>Every web node: the default pool's, then the named pools'.</summary>
    public IEnumerable<NodeSpec> AllWebNodes => WebPools.IsEmpty ? WebNodes : [.. WebNodes, .. WebPools.SelectMany(p => p.Nodes)];

    /// <summary>Every app node: the default pool's, then the named pools'.</summary>
    public IEnumerable<NodeSpec> AllAppNodes => AppPools.IsEmpty ? AppNodes : [.. AppNodes, .. AppPools.SelectMany(p => p.Nodes)];

    /// <summary>The web tier's pools, the default one ("web") first.</summary>
    public ImmutableArray<PoolSpec> AllWebPools => [new PoolSpec("web", WebNodes, WebBackend), .. WebPools];

    /// <summary>The app tier's pools, the default one ("app") first.</summary>
    public ImmutableArray<PoolSpec> AllAppPools => [new PoolSpec("app", AppNodes, AppBackend), .. AppPools];

    /// <summary>The admin API's bearer token from the file, or null (then STRATA_ADMIN_TOKEN, or the API is off).</summary>
    public string? AdminToken { get; init; }

    /// <summary>Peers whose X-Forwarded-* headers the load balancers keep.</summary>
    public ImmutableArray<IPNetwork> TrustedProxies { get; init; } = [];

    /// <summary>The VIP's connection limits on each load balancer.</summary>
    public ConnectionLimitSpec VipConnections { get; init; } = ConnectionLimitSpec.Default;

    /// <summary>Each load balancer's request log, or null when it is off (the validator's default: <see cref="LogFileSpec.DefaultRequestLogPath"/>).</summary>
    public LogFileSpec? RequestLog { get; init; }

    /// <summary>
    /// The proxies a node of <paramref name="role"/> takes X-Forwarded-* and the other client-address headers from
    /// (nginx's <c>set_real_ip_from</c>): <see cref="TrustedProxies"/>, and the tiers in front of it — the load
    /// balancers before a web node, the load balancers and web nodes before an app node. From any other peer a
    /// forwarding node replaces them, and an app node ignores them.
    /// </summary>
    public TrustedPeers ProxiesInFront(NodeRole role)
    {
        IEnumerable<NodeSpec> tiers = role switch
        {
            NodeRole.Web => LoadBalancers,
            NodeRole.App => [.. LoadBalancers, .. AllWebNodes],
            _ => [],
        };
        return new([.. TrustedProxies, .. tiers.Select(n => n.Address.Address).Distinct().Select(a => new IPNetwork(a, a.GetAddressBytes().Length * 8))]);
    }

    /// <summary>Absolute path of the static files.</summary>
    public required string WebRoot { get; init; }

    /// <summary>How the web nodes serve them.</summary>
    public WebSpec Web { get; init; } = WebSpec.Default;

    /// <summary>The database.</summary>
    public required DatabaseSpec Database { get; init; }

    /// <summary>The engine <c>--db</c> chose over the file's (<see cref="ManagedDatabase.Choose"/>), or null.</summary>
    public string? DatabaseChoice { get; init; }

    /// <summary>The user's own application the app nodes run, or null for the built-in one.</summary>
    public AppCommandSpec? AppCommand { get; init; }

    /// <summary>Whether the built-in application serves the TechEmpower benchmarks (/bench/) and keeps their tables.</summary>
    public bool BenchmarkEndpoints { get; init; }

    /// <summary>Where the nodes send their traces, or null (then the OpenTelemetry SDK's environment variables decide).</summary>
    public TelemetrySpec? Telemetry { get; init; }

    /// <summary>The private subnet of <c>strata up --netns</c> (see <see cref="NetnsLayout"/>).</summary>
    public IPNetwork NetnsSubnet { get; init; } = NetnsLayout.DefaultSubnet;

    /// <summary>Whether the addresses are those of <see cref="NetnsLayout.Apply"/>, not the file's.</summary>
    public bool InNetns { get; init; }

    /// <summary>Where <c>strata up</c> serves the live dashboard (a loopback address), or null when it is off.</summary>
    public IPEndPoint? Dashboard { get; init; } = DefaultDashboard;

    /// <summary>The dashboard's address unless the file says otherwise: http://127.0.0.1:8099/.</summary>
    public static IPEndPoint DefaultDashboard => new(IPAddress.Loopback, 8099);

    /// <summary>Every node, DNS first, then tier by tier from the front, the managed database servers last.</summary>
    public IEnumerable<NodeSpec> AllNodes => [Dns, .. LoadBalancers, .. AllWebNodes, .. AllAppNodes, .. Database.Nodes];

    /// <summary>The node with this name, or null.</summary>
    public NodeSpec? FindNode(string name) => AllNodes.FirstOrDefault(n => string.Equals(n.Name, name, StringComparison.Ordinal));
}

/// <summary>The short names of roles, as used on the command line and in status output.</summary>
public static class NodeRoles
{
    /// <summary>"dns", "lb", "web", "app" or "db".</summary>
    public static string ShortName(this NodeRole role) => role switch
    {
        NodeRole.Dns => "dns",
        NodeRole.LoadBalancer => "lb",
        NodeRole.Web => "web",
        NodeRole.App => "app",
        NodeRole.Database => "db",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, null),
    };
}

/// <summary>A log file each node of a tier writes.</summary>
/// <param name="Path">Absolute; <see cref="NodePlaceholder"/> stands for the node's name.</param>
/// <param name="Format">The format's name, validated.</param>
public sealed record LogFileSpec(string Path, string Format)
{
    /// <summary>The placeholder in a log path replaced by the node's name.</summary>
    public const string NodePlaceholder = "{node}";

    /// <summary>The load balancers' request log format with HAProxy's httplog fields.</summary>
    public const string HttpLog = "httplog";

    /// <summary>One JSON object a line.</summary>
    public const string Json = "json";

    /// <summary>Where a load balancer's request log goes unless the topology says otherwise, relative to the topology file.</summary>
    public static readonly string DefaultRequestLogPath = System.IO.Path.Combine(".strata", "logs", "{node}.requests.log");

    /// <summary>The path for <paramref name="node"/>.</summary>
    public string For(string node) => Path.Replace(NodePlaceholder, node, StringComparison.Ordinal);
}
