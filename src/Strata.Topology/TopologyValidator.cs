using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Strata.Topology;

/// <summary>Checks <see cref="TopologyOptions"/> field by field, collecting every error, and builds the runtime model.</summary>
internal sealed partial class TopologyValidator
{
    private readonly List<TopologyError> _errors = [];
    private readonly Dictionary<string, string> _nodeNames = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _endpoints = new(StringComparer.Ordinal);
    private readonly string _baseDirectory;
    private readonly string _sourcePath;

    private TopologyValidator(string sourcePath)
    {
        _sourcePath = sourcePath;
        _baseDirectory = Path.GetDirectoryName(sourcePath) ?? ".";
    }

    public static Topology Validate(TopologyOptions options, string sourcePath)
    {
        var validator = new TopologyValidator(sourcePath);
        var topology = validator.Build(options, sourcePath);
        if (validator._errors.Count > 0 || topology is null)
        {
            throw new TopologyException(sourcePath, validator._errors);
        }

        return topology;
    }

    private Topology? Build(TopologyOptions o, string sourcePath)
    {
        IPEndPoint? vip = null;
        if (o.Vip is null)
        {
            Error("vip", "is required");
        }
        else
        {
            vip = Endpoint(o.Vip.Address, "vip.address", owner: "the VIP");
        }

        var dnsNode = DnsNode(o.Dns);
        var zone = Zone(o.Dns, vip);
        var loadBalancers = Nodes(o.LoadBalancers, "loadBalancers", NodeRole.LoadBalancer);
        var webNodes = Nodes(o.Web, "web", NodeRole.Web);
        var appNodes = Nodes(o.App, "app", NodeRole.App);
        var webBackend = Backend(o.Web, "web");
        var appBackend = Backend(o.App, "app");
        var trustedProxies = TrustedProxies(o.LoadBalancers?.TrustedProxies);
        var webRoot = WebRoot(o.Web?.Root);
        var web = Web(o.Web);
        var database = Database(o.Database);
        var appCommand = AppCommand(o.App?.Command);
        var vrrp = Vrrp(o.Vip, loadBalancers);
        var netnsSubnet = NetnsSubnet(o.Netns?.Subnet, 1 + loadBalancers.Length + webNodes.Length + appNodes.Length + (database?.Managed == true ? 1 : 0));
        var adminToken = o.Admin?.Token;
        if (o.Admin is not null && (string.IsNullOrWhiteSpace(adminToken) || adminToken.Length < 16))
        {
            Error("admin.token", "must be at least 16 characters (or leave admin out: strata up generates one)");
        }

        if (_errors.Count > 0)
        {
            return null;
        }

        return new Topology
        {
            SourcePath = sourcePath,
            Dns = dnsNode!,
            Zone = zone!,
            Vip = vip!,
            LoadBalancers = loadBalancers,
            WebNodes = webNodes,
            AppNodes = appNodes,
            WebBackend = webBackend,
            AppBackend = appBackend,
            TrustedProxies = trustedProxies,
            AdminToken = adminToken,
            Vrrp = vrrp,
            WebRoot = webRoot!,
            Web = web,
            Database = database!,
            AppCommand = appCommand,
            BenchmarkEndpoints = BenchmarkEndpoints(o.App, appCommand),
            NetnsSubnet = netnsSubnet,
        };
    }

    private void Error(string field, string problem) => _errors.Add(new TopologyError(field, problem));

    private NodeSpec? DnsNode(DnsOptions? dns)
    {
        if (dns is null)
        {
            Error("dns", "is required");
            return null;
        }

        var name = NodeName(dns.Name ?? "dns", "dns.name");
        var address = Endpoint(dns.Address, "dns.address", owner: name ?? "dns");
        var management = Endpoint(dns.Management, "dns.management", owner: $"{name ?? "dns"} management");
        return name is null || address is null || management is null
            ? null
            : new NodeSpec(name, NodeRole.Dns, address, management);
    }

    private DnsZoneSpec? Zone(DnsOptions? dns, IPEndPoint? vip)
    {
        if (dns is null)
        {
            return null;
        }

        var zone = dns.Zone?.Trim().TrimEnd('.').ToLowerInvariant();
        if (string.IsNullOrEmpty(zone))
        {
            Error("dns.zone", "is required (e.g. \"foobar.com\")");
            return null;
        }

        if (!DnsNameRegex().IsMatch(zone))
        {
            Error("dns.zone", $"'{dns.Zone}' is not a valid domain name");
            return null;
        }

        var ttl = dns.Ttl ?? 60;
        if (ttl is < 0 or > 604800)
        {
            Error("dns.ttl", $"{ttl} is out of range (0 to 604800 seconds)");
        }

        var records = ImmutableDictionary.CreateBuilder<string, IPAddress>(StringComparer.Ordinal);
        var given = dns.Records ?? new Dictionary<string, string> { ["@"] = "vip", ["www"] = "vip" };
        foreach (var (label, value) in given)
        {
            var field = $"dns.records.{label}";
            var relative = label.Trim().TrimEnd('.').ToLowerInvariant();
            var fqdn = relative == "@" ? zone : $"{relative}.{zone}";
            if (relative != "@" && !DnsNameRegex().IsMatch(fqdn))
            {
                Error(field, $"'{label}' is not a valid name inside {zone}");
                continue;
            }

            IPAddress? address;
            if (string.Equals(value, "vip", StringComparison.OrdinalIgnoreCase))
            {
                address = vip?.Address;
            }
            else if (!IPAddress.TryParse(value, out address) || address.AddressFamily != AddressFamily.InterNetwork)
            {
                Error(field, $"'{value}' is neither an IPv4 address nor \"vip\"");
                continue;
            }

            if (address is not null && !records.TryAdd(fqdn, address))
            {
                Error(field, $"{fqdn} is defined twice");
            }
        }

        return new DnsZoneSpec(zone, TimeSpan.FromSeconds(ttl), records.ToImmutable());
    }

    private ImmutableArray<NodeSpec> Nodes(TierOptions? tier, string field, NodeRole role)
    {
        if (tier is null)
        {
            Error(field, "is required");
            return [];
        }

        if (tier.Nodes is not { Count: > 0 })
        {
            Error($"{field}.nodes", "must list at least one node");
            return [];
        }

        var nodes = ImmutableArray.CreateBuilder<NodeSpec>();
        for (var i = 0; i < tier.Nodes.Count; i++)
        {
            var node = tier.Nodes[i];
            var nodeField = $"{field}.nodes[{i}]";
            if (node is null)
            {
                Error(nodeField, "must be an object with name and address");
                continue;
            }

            var name = NodeName(node.Name, $"{nodeField}.name");
            var address = Endpoint(node.Address, $"{nodeField}.address", owner: name ?? nodeField);
            var management = node.Management is null ? address : Endpoint(node.Management, $"{nodeField}.management", owner: $"{name ?? nodeField} management");
            var weight = InRange(node.Weight ?? 1, $"{nodeField}.weight", 0, 256);
            if (node.Weight is not null && role == NodeRole.LoadBalancer)
            {
                Error($"{nodeField}.weight", "only servers of a backend (web, app) have a weight");
            }

            var priority = InRange(node.Priority ?? 100, $"{nodeField}.priority", 1, 255);
            if (node.Priority is not null && role != NodeRole.LoadBalancer)
            {
                Error($"{nodeField}.priority", "only load balancers have a VRRP priority");
            }

            if (name is not null && address is not null && management is not null)
            {
                nodes.Add(new NodeSpec(name, role, address, management, weight, priority));
            }
        }

        return nodes.ToImmutable();
    }

    private string? NodeName(string? name, string field)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            Error(field, "is required");
            return null;
        }

        if (!NodeNameRegex().IsMatch(name))
        {
            Error(field, $"'{name}' is not a valid node name (lower-case letters, digits and '-', starting with a letter)");
            return null;
        }

        if (!_nodeNames.TryAdd(name, field))
        {
            Error(field, $"'{name}' is already the name of {_nodeNames[name]}");
            return null;
        }

        return name;
    }

    private IPEndPoint? Endpoint(string? value, string field, string owner)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            Error(field, "is required (host:port, e.g. \"127.0.2.1:8080\")");
            return null;
        }

        if (!IPEndPoint.TryParse(value, out var endpoint)
            || endpoint.AddressFamily != AddressFamily.InterNetwork
            || !value.Contains(':', StringComparison.Ordinal))
        {
            Error(field, $"'{value}' is not an IPv4 host:port");
            return null;
        }

        if (endpoint.Port == 0)
        {
            Error(field, $"'{value}' needs a port from 1 to 65535");
            return null;
        }

        // DNS listens on UDP as well, but no two listeners may share an address:port on TCP.
        var key = endpoint.ToString();
        if (!_endpoints.TryAdd(key, owner))
        {
            Error(field, $"'{value}' is already used by {_endpoints[key]}");
            return null;
        }

        return endpoint;
    }

    private BackendSpec Backend(BackendTierOptions? tier, string field)
    {
        var defaults = BackendSpec.Default;
        if (tier is null)
        {
            return defaults;
        }

        var (hashOn, hashHeader) = HashOn(tier.Balancing?.HashOn, $"{field}.balancing.hashOn");
        var algorithm = tier.Balancing?.Algorithm ?? defaults.Algorithm;
        if (!BalancingAlgorithms.All.Contains(algorithm, StringComparer.Ordinal))
        {
            Error($"{field}.balancing.algorithm", $"'{algorithm}' is not an algorithm; the algorithms are: {string.Join(", ", BalancingAlgorithms.All)}");
        }
        else if (tier.Balancing?.HashOn is not null && algorithm != BalancingAlgorithms.Hash)
        {
            Error($"{field}.balancing.hashOn", $"applies only to the '{BalancingAlgorithms.Hash}' algorithm");
        }

        var methods = defaults.RetryMethods;
        if (tier.Retries?.Methods is { } given)
        {
            methods = [.. given.Select(m => m.Trim().ToUpperInvariant())];
            foreach (var method in given.Where(m => !HttpTokenRegex().IsMatch(m.Trim())))
            {
                Error($"{field}.retries.methods", $"'{method}' is not an HTTP method");
            }
        }

        var retryOn = defaults.RetryOn;
        if (tier.Retries?.On is { } conditions)
        {
            retryOn = RetryConditions.None;
            if (conditions.Count == 0)
            {
                Error($"{field}.retries.on", "names no condition; to turn retries off set retries.count to 0");
            }

            foreach (var condition in conditions)
            {
                var known = RetryConditionNames.All.FirstOrDefault(c => string.Equals(c.Name, condition?.Trim(), StringComparison.OrdinalIgnoreCase));
                if (known.Name is null)
                {
                    Error($"{field}.retries.on", $"'{condition}' is not a retry condition; the conditions are: {string.Join(", ", RetryConditionNames.All.Select(c => c.Name))}");
                }

                retryOn |= known.Condition;
            }
        }

        var cookie = tier.Persistence?.Cookie;
        if (tier.Persistence is not null && (string.IsNullOrWhiteSpace(cookie) || !HttpTokenRegex().IsMatch(cookie)))
        {
            Error($"{field}.persistence.cookie", cookie is null ? "is required (e.g. \"SERVERID\")" : $"'{cookie}' is not a valid cookie name");
        }

        var timeouts = tier.Timeouts;
        var limits = tier.Limits;
        return new BackendSpec
        {
            HealthCheck = HealthCheck(tier.HealthCheck, $"{field}.healthCheck"),
            Algorithm = algorithm,
            HashOn = hashOn,
            HashHeader = hashHeader,
            PassiveFailures = InRange(tier.PassiveHealth?.ConsecutiveFailures ?? defaults.PassiveFailures, $"{field}.passiveHealth.consecutiveFailures", 0, 100),
            Retries = InRange(tier.Retries?.Count ?? defaults.Retries, $"{field}.retries.count", 0, 10),
            RetryMethods = methods,
            RetryOn = retryOn,
            SlowStart = Milliseconds(tier.SlowStartMs, defaults.SlowStart, $"{field}.slowStartMs", min: 0),
            MaxRequestsPerServer = InRange(limits?.MaxRequestsPerServer ?? defaults.MaxRequestsPerServer, $"{field}.limits.maxRequestsPerServer", 0, 1_000_000),
            MaxQueue = InRange(limits?.MaxQueue ?? defaults.MaxQueue, $"{field}.limits.maxQueue", 0, 1_000_000),
            QueueTimeout = Milliseconds(limits?.QueueTimeoutMs, defaults.QueueTimeout, $"{field}.limits.queueTimeoutMs"),
            ConnectTimeout = Milliseconds(timeouts?.ConnectMs, defaults.ConnectTimeout, $"{field}.timeouts.connectMs"),
            ServerTimeout = Milliseconds(timeouts?.ServerMs, defaults.ServerTimeout, $"{field}.timeouts.serverMs"),
            ClientTimeout = Milliseconds(timeouts?.ClientMs, defaults.ClientTimeout, $"{field}.timeouts.clientMs"),
            PersistenceCookie = cookie,
        };
    }

    private VrrpSpec Vrrp(VipOptions? vip, ImmutableArray<NodeSpec> loadBalancers)
    {
        var defaults = VrrpSpec.Default;
        if (vip is null)
        {
            return defaults;
        }

        var spec = new VrrpSpec(
            InRange(vip.RouterId ?? defaults.RouterId, "vip.routerId", 1, 255),
            TimeSpan.FromMilliseconds(10 * InRange(vip.AdvertIntervalCs ?? 10, "vip.advertIntervalCs", 1, 4095)),
            vip.Preempt ?? defaults.Preempt,
            Milliseconds(vip.PreemptDelayMs, defaults.PreemptDelay, "vip.preemptDelayMs", min: 0),
            InRange(vip.Port ?? defaults.Port, "vip.port", 1, 65535),
            InRange(vip.TrackWeight ?? defaults.TrackWeight, "vip.trackWeight", 1, 254),
            ActiveActive: vip.Mode == "active-active",
            NotifyCommand: vip.Notify is null ? null : Path.GetFullPath(Path.Combine(_baseDirectory, vip.Notify)),
            Interface: vip.Interface);
        if (vip.Interface is { } iface && !InterfaceName().IsMatch(iface))
        {
            Error("vip.interface", $"'{iface}' is not an interface name (1-15 characters: letters, digits, '.', '-', '_')");
        }

        if (vip.Interface is not null && spec.ActiveActive)
        {
            Error("vip.mode", "active-active shares one listening port on one host; with vip.interface (a host per load balancer) only the master can hold the address: use active-passive");
        }

        if (vip.Mode is not (null or "active-passive" or "active-active"))
        {
            Error("vip.mode", $"'{vip.Mode}' is not a mode; the modes are: active-passive, active-active");
        }

        if (spec.NotifyCommand is { } notify && !File.Exists(notify))
        {
            Error("vip.notify", $"'{notify}' does not exist");
        }
        if (loadBalancers.Length > 1)
        {
            // keepalived#2485: a weight that cannot cross the gap leaves the VIP on a node that cannot serve.
            var highest = loadBalancers.MaxBy(n => n.Priority)!;
            var lowest = loadBalancers.MinBy(n => n.Priority)!;
            var gap = highest.Priority - lowest.Priority;
            if (spec.TrackWeight <= gap)
            {
                Error("vip.trackWeight", $"{spec.TrackWeight} cannot move the VIP: {highest.Name} (priority {highest.Priority}) would stay above {lowest.Name} ({lowest.Priority}) while it cannot serve; use more than {gap}");
            }
        }

        return spec;
    }

    private IPNetwork NetnsSubnet(string? value, int nodeCount)
    {
        if (value is null)
        {
            return NetnsLayout.DefaultSubnet;
        }

        if (!IPNetwork.TryParse(value, out var subnet) || subnet.BaseAddress.AddressFamily != AddressFamily.InterNetwork)
        {
            Error("netns.subnet", $"'{value}' is not an IPv4 subnet (e.g. \"10.201.0.0/24\")");
            return NetnsLayout.DefaultSubnet;
        }

        if (subnet.PrefixLength is < 16 or > 24)
        {
            Error("netns.subnet", $"'{value}' must be a /16 to /24");
        }
        else if (!NetnsLayout.IsPrivate(subnet))
        {
            // The host gets a route for this subnet: a public range would hijack real addresses.
            Error("netns.subnet", $"'{value}' is not inside a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)");
        }
        else if (nodeCount > NetnsLayout.MaxNodes)
        {
            Error("netns.subnet", $"the layout has room for {NetnsLayout.MaxNodes} nodes; the topology has {nodeCount}");
        }

        return subnet;
    }

    private (HashKind Kind, string? Header) HashOn(string? value, string field)
    {
        switch (value)
        {
            case null or "source":
                return (HashKind.Source, null);
            case "path":
                return (HashKind.Path, null);
            case not null when value.StartsWith("header:", StringComparison.Ordinal) && HttpTokenRegex().IsMatch(value["header:".Length..]):
                return (HashKind.Header, value["header:".Length..]);
            default:
                Error(field, $"'{value}' is not one of: source, path, header:NAME");
                return (HashKind.Source, null);
        }
    }

    private ImmutableArray<IPNetwork> TrustedProxies(IReadOnlyList<string>? given)
    {
        var networks = ImmutableArray.CreateBuilder<IPNetwork>();
        for (var i = 0; i < (given?.Count ?? 0); i++)
        {
            var text = given![i];
            if (IPNetwork.TryParse(text, out var network))
            {
                networks.Add(network);
            }
            else if (IPAddress.TryParse(text, out var address))
            {
                networks.Add(new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128));
            }
            else
            {
                Error($"loadBalancers.trustedProxies[{i}]", $"'{text}' is neither an IP address nor a CIDR range");
            }
        }

        return networks.ToImmutable();
    }

    private HealthCheckSpec HealthCheck(HealthCheckOptions? check, string field)
    {
        var defaults = HealthCheckSpec.Default;
        check ??= new HealthCheckOptions();
        var path = check.Path ?? defaults.Path;
        if (!path.StartsWith('/'))
        {
            Error($"{field}.path", $"'{path}' must start with '/'");
        }

        var interval = Milliseconds(check.IntervalMs, defaults.Interval, $"{field}.intervalMs");
        return new HealthCheckSpec(
            path,
            interval,
            Milliseconds(check.FastIntervalMs, defaults.FastInterval, $"{field}.fastIntervalMs"),
            Milliseconds(check.TimeoutMs, interval, $"{field}.timeoutMs"),
            InRange(check.Fall ?? defaults.Fall, $"{field}.fall", 1, 100),
            InRange(check.Rise ?? defaults.Rise, $"{field}.rise", 1, 100));
    }

    private TimeSpan Milliseconds(int? value, TimeSpan fallback, string field, int min = 1, int max = 3_600_000)
    {
        if (value is null)
        {
            return fallback;
        }

        return TimeSpan.FromMilliseconds(InRange(value.Value, field, min, max));
    }

    private int InRange(int value, string field, int min, int max)
    {
        if (value < min || value > max)
        {
            Error(field, $"{value.ToString(CultureInfo.InvariantCulture)} is out of range ({min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)})");
        }

        return value;
    }

    private string? WebRoot(string? root)
    {
        var path = Path.GetFullPath(Path.Combine(_baseDirectory, root ?? "wwwroot"));
        if (!Directory.Exists(path))
        {
            Error("web.root", $"directory '{path}' does not exist");
            return null;
        }

        return path;
    }

    private WebSpec Web(WebTierOptions? options)
    {
        var d = WebSpec.Default;
        var s = options?.Static;
        var client = options?.Client;
        var spec = new WebSpec
        {
            AppPrefixes = Prefixes(s?.AppPrefixes, d.AppPrefixes, "web.static.appPrefixes"),
            StaticPrefixes = Prefixes(s?.StaticPrefixes, d.StaticPrefixes, "web.static.staticPrefixes"),
            Index = s?.Index ?? d.Index,
            FollowSymlinksOutOfRoot = s?.FollowSymlinksOutOfRoot ?? d.FollowSymlinksOutOfRoot,
            CompressMinBytes = InRange(s?.CompressMinBytes ?? d.CompressMinBytes, "web.static.compressMinBytes", 0, int.MaxValue),
            MemoryCacheBytes = LongInRange(s?.MemoryCacheBytes ?? d.MemoryCacheBytes, "web.static.memoryCacheBytes", 0, 16L << 30),
            MemoryCacheMaxFileBytes = LongInRange(s?.MemoryCacheMaxFileBytes ?? d.MemoryCacheMaxFileBytes, "web.static.memoryCacheMaxFileBytes", 0, 1L << 30),
            RevalidateMs = InRange(s?.RevalidateMs ?? d.RevalidateMs, "web.static.revalidateMs", 0, 3_600_000),
            CacheControl = [.. (s?.CacheControl ?? new Dictionary<string, string>())
                .Where(rule => CacheRule(rule.Key, rule.Value))
                .OrderByDescending(rule => rule.Key.Length)
                .Select(rule => (rule.Key, rule.Value))],
            MaxBodyBytes = LongInRange(client?.MaxBodyBytes ?? d.MaxBodyBytes, "web.client.maxBodyBytes", 0, 1L << 40),
            MaxRequestLineBytes = InRange(client?.MaxRequestLineBytes ?? d.MaxRequestLineBytes, "web.client.maxRequestLineBytes", 256, 1 << 20),
            MaxHeaderBytes = InRange(client?.MaxHeaderBytes ?? d.MaxHeaderBytes, "web.client.maxHeaderBytes", 1024, 1 << 24),
            MinBodyBytesPerSecond = InRange(client?.MinBodyBytesPerSecond ?? d.MinBodyBytesPerSecond, "web.client.minBodyBytesPerSecond", 0, int.MaxValue),
            ErrorPages = ErrorPages(options?.ErrorPages),
            AccessLogFormat = options?.AccessLog?.Format ?? d.AccessLogFormat,
        };
        if (s?.Index is { } index && (index.Length == 0 || index.IndexOfAny(['/', '\\']) >= 0 || index.StartsWith('.')))
        {
            Error("web.static.index", $"'{index}' must be a file name (no '/', not hidden)");
        }

        if (spec.AccessLogFormat is not ("combined" or "json" or "off"))
        {
            Error("web.accessLog.format", $"'{spec.AccessLogFormat}' is not a format; the formats are: combined, json, off");
        }

        var logPath = options?.AccessLog?.Path ?? Path.Combine(".strata", "logs", "{node}.access.log");
        return spec.AccessLogFormat == "off" ? spec : spec with { AccessLogPath = Path.GetFullPath(Path.Combine(_baseDirectory, logPath)) };
    }

    private ImmutableArray<string> Prefixes(IReadOnlyList<string>? given, ImmutableArray<string> fallback, string field)
    {
        if (given is null)
        {
            return fallback;
        }

        for (var i = 0; i < given.Count; i++)
        {
            if (!given[i].StartsWith('/'))
            {
                Error($"{field}[{i}]", $"'{given[i]}' must start with '/'");
            }
        }

        return [.. given];
    }

    private bool CacheRule(string prefix, string value)
    {
        if (!prefix.StartsWith('/'))
        {
            Error($"web.static.cacheControl.{prefix}", "the path prefix must start with '/'");
            return false;
        }

        if (string.IsNullOrWhiteSpace(value) || value.Any(char.IsControl))
        {
            Error($"web.static.cacheControl.{prefix}", $"'{value}' is not a Cache-Control value");
            return false;
        }

        return true;
    }

    private ImmutableDictionary<string, string> ErrorPages(IReadOnlyDictionary<string, string>? given)
    {
        var pages = ImmutableDictionary.CreateBuilder<string, string>();
        foreach (var (status, page) in given ?? new Dictionary<string, string>())
        {
            var field = $"web.errorPages.{status}";
            if (!(status is "50x" || (int.TryParse(status, NumberStyles.None, CultureInfo.InvariantCulture, out var code) && code is >= 400 and <= 599)))
            {
                Error(field, $"'{status}' is not an error status (400-599, or 50x for all of 500-599)");
            }
            else if (!page.StartsWith('/') || page.Contains("..", StringComparison.Ordinal))
            {
                Error(field, $"'{page}' must be a path under the web root, starting with '/'");
            }
            else
            {
                pages[status] = page;
            }
        }

        return pages.ToImmutable();
    }

    private long LongInRange(long value, string field, long min, long max)
    {
        if (value < min || value > max)
        {
            Error(field, $"{value} is out of range ({min} to {max})");
        }

        return value;
    }

    private DatabaseSpec? Database(DatabaseOptions? database)
    {
        var engine = database?.Engine ?? "sqlite";
        if (engine is not ("sqlite" or "mysql"))
        {
            Error("database.engine", $"'{engine}' is not supported; the engines are: sqlite, mysql");
            return null;
        }

        if (database?.Managed == true)
        {
            return ManagedDatabaseServer(database, engine);
        }

        if (database?.Node is not null)
        {
            Error("database.node", "describes the server Strata runs; set \"managed\": true to run one");
        }

        var path = database?.Path ?? Path.Combine(".strata", "foobar.db");
        if (string.IsNullOrWhiteSpace(path))
        {
            Error("database.path", "must name the SQLite file");
            return null;
        }

        string? connectionString = null;
        if (engine == "mysql")
        {
            // Only the shape: the topology does not know MySqlConnector, whose builder reports a bad value clearly.
            connectionString = database?.ConnectionString;
            if (string.IsNullOrWhiteSpace(connectionString))
            {
                Error("database.connectionString", "is required when the engine is mysql and not managed (e.g. \"Server=127.0.0.1;Database=foobar;User ID=strata;Password=...\")");
                return null;
            }

            if (!connectionString.Contains('='))
            {
                Error("database.connectionString", "must be a list of key=value pairs separated by ';' (e.g. \"Server=127.0.0.1;Database=foobar\")");
                return null;
            }
        }

        return new DatabaseSpec(engine, Path.GetFullPath(Path.Combine(_baseDirectory, path)), connectionString);
    }

    private DatabaseSpec? ManagedDatabaseServer(DatabaseOptions database, string engine)
    {
        if (engine != "mysql")
        {
            Error("database.managed", "needs \"engine\": \"mysql\" (Strata runs a MySQL or MariaDB server; SQLite is embedded)");
            return null;
        }

        if (database.ConnectionString is not null)
        {
            Error("database.connectionString", "is Strata's own for a managed server; leave it out (or set \"managed\": false to use your server)");
        }

        if (database.Path is not null)
        {
            Error("database.path", $"is for SQLite; a managed server keeps its data in .strata/{database.Node?.Name ?? ManagedDatabase.DefaultName}/");
        }

        var node = database.Node ?? new NodeOptions();
        if (node.Weight is not null || node.Priority is not null)
        {
            Error("database.node", "takes only name, address and management");
        }

        var name = NodeName(node.Name ?? ManagedDatabase.DefaultName, "database.node.name");
        var address = Endpoint(node.Address ?? ManagedDatabase.DefaultAddress.ToString(), "database.node.address", owner: name ?? "database.node");
        var management = Endpoint(node.Management ?? ManagedDatabase.DefaultManagement.ToString(), "database.node.management", owner: $"{name ?? "database.node"} management");
        // The address speaks MySQL, the management address HTTP: Endpoint refuses the two being one.
        return name is null || address is null || management is null
            ? null
            : ManagedDatabase.Spec(_sourcePath, new NodeSpec(name, NodeRole.Database, address, management));
    }

    private bool BenchmarkEndpoints(AppTierOptions? app, AppCommandSpec? command)
    {
        if (app?.BenchmarkEndpoints is not true)
        {
            return false;
        }

        if (command is not null)
        {
            Error("app.benchmarkEndpoints", "the benchmark endpoints are the built-in application's; they cannot be on with app.command");
        }

        return true;
    }

    private AppCommandSpec? AppCommand(AppCommandOptions? command)
    {
        if (command is null)
        {
            return null;
        }

        const string Field = "app.command";
        if (command.Run is not { Count: > 0 } run || string.IsNullOrWhiteSpace(run[0]))
        {
            Error($"{Field}.run", "must name the program and its arguments, e.g. [\"python3\", \"app.py\"]");
            return null;
        }

        var program = run[0];
        if (program.Contains('/', StringComparison.Ordinal))
        {
            program = Path.GetFullPath(Path.Combine(_baseDirectory, program));
            if (!File.Exists(program))
            {
                Error($"{Field}.run[0]", $"'{program}' does not exist");
            }
        }

        var healthPath = command.HealthPath ?? "/";
        if (!healthPath.StartsWith('/'))
        {
            Error($"{Field}.healthPath", $"'{healthPath}' must start with '/'");
        }

        var directory = Path.GetFullPath(Path.Combine(_baseDirectory, command.WorkingDirectory ?? "."));
        if (!Directory.Exists(directory))
        {
            Error($"{Field}.workingDirectory", $"directory '{directory}' does not exist");
        }

        var environment = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in command.Environment ?? new Dictionary<string, string>())
        {
            if (!EnvironmentNameRegex().IsMatch(name))
            {
                Error($"{Field}.environment.{name}", $"'{name}' is not an environment variable name (letters, digits and '_', not starting with a digit)");
            }
            else if (AppCommandSpec.ReservedVariables.Contains(name, StringComparer.Ordinal))
            {
                Error($"{Field}.environment.{name}", "is set by the app node");
            }
            else
            {
                environment[name] = value ?? "";
            }
        }

        return new AppCommandSpec([program, .. run.Skip(1)], healthPath, directory, environment.ToImmutable());
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvironmentNameRegex();

    // RFC 9110 §5.6.2 token: methods, header and cookie names.
    [GeneratedRegex("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")]
    private static partial Regex HttpTokenRegex();

    [GeneratedRegex(@"^[A-Za-z0-9._-]{1,15}$")]
    private static partial Regex InterfaceName();

    [GeneratedRegex("^[a-z][a-z0-9-]{0,62}$")]
    private static partial Regex NodeNameRegex();

    [GeneratedRegex(@"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")]
    private static partial Regex DnsNameRegex();
}
