using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Strata.Topology;

/// <summary>
/// Checks <see cref="TopologyOptions"/> field by field, collecting every error, and builds the runtime model. This file
/// holds the whole and what every section uses (nodes, names, addresses, numbers in range); each section's own checks
/// are in <c>TopologyValidator.SECTION.cs</c> beside it (Dns, Vip, Tls, Backends, Web, App, Routes, Database, Netns, Telemetry, Dashboard).
/// </summary>
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
        var dnsRateLimit = DnsRateLimit(o.Dns?.RateLimit);
        var loadBalancers = Nodes(o.LoadBalancers, "loadBalancers", NodeRole.LoadBalancer);
        var webNodes = Nodes(o.Web, "web", NodeRole.Web);
        var appNodes = Nodes(o.App, "app", NodeRole.App);
        var webBackend = Backend(o.Web, "web");
        var appBackend = Backend(o.App, "app");
        var webPools = Pools(o.Web?.Pools, "web", NodeRole.Web);
        var appPools = Pools(o.App?.Pools, "app", NodeRole.App);
        var loadBalancerRoutes = Routes(o.LoadBalancers?.Routes, "loadBalancers", "web", webPools);
        var webRoutes = Routes(o.Web?.Routes, "web", "app", appPools);
        var trustedProxies = TrustedProxies(o.LoadBalancers?.TrustedProxies);
        var requestLog = RequestLog(o.LoadBalancers?.RequestLog);
        var webRoot = WebRoot(o.Web?.Root);
        var web = Web(o.Web);
        var database = Database(o.Database);
        var appCommand = AppCommand(o.App?.Command);
        var vrrp = Vrrp(o.Vip, loadBalancers);
        var vipTls = VipTls(o.Vip?.Tls, vip);
        var vipConnections = new ConnectionLimitSpec(
            InRange(o.Vip?.MaxConnections ?? ConnectionLimitSpec.Default.Max, "vip.maxConnections", 1, 1_000_000),
            InRange(o.Vip?.MaxConnectionsPerClient ?? ConnectionLimitSpec.Default.PerClient, "vip.maxConnectionsPerClient", 0, 1_000_000));
        var netnsSubnet = NetnsSubnet(o.Netns?.Subnet, loadBalancers.Length, webNodes.Length + webPools.Sum(p => p.Nodes.Length), appNodes.Length + appPools.Sum(p => p.Nodes.Length));
        var telemetry = Telemetry(o.Telemetry);
        var dashboard = Dashboard(o.Dashboard);
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
            DnsRateLimit = dnsRateLimit,
            Vip = vip!,
            LoadBalancers = loadBalancers,
            WebNodes = webNodes,
            AppNodes = appNodes,
            WebBackend = webBackend,
            AppBackend = appBackend,
            WebPools = webPools,
            AppPools = appPools,
            LoadBalancerRoutes = loadBalancerRoutes,
            WebRoutes = webRoutes,
            TrustedProxies = trustedProxies,
            RequestLog = requestLog,
            AdminToken = adminToken,
            Vrrp = vrrp,
            VipTls = vipTls,
            VipConnections = vipConnections,
            WebRoot = webRoot!,
            Web = web,
            Database = database!,
            AppCommand = appCommand,
            BenchmarkEndpoints = BenchmarkEndpoints(o.App, appCommand),
            NetnsSubnet = netnsSubnet,
            Telemetry = telemetry,
            Dashboard = dashboard,
        };
    }

    private void Error(string field, string problem) => _errors.Add(new TopologyError(field, problem));

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

    private long LongInRange(long value, string field, long min, long max)
    {
        if (value < min || value > max)
        {
            Error(field, $"{value} is out of range ({min} to {max})");
        }

        return value;
    }

    // RFC 9110 §5.6.2 token: methods, header and cookie names.
    [GeneratedRegex("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")]
    private static partial Regex HttpTokenRegex();

    [GeneratedRegex("^[a-z][a-z0-9-]{0,62}$")]
    private static partial Regex NodeNameRegex();
}
