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

    private TopologyValidator(string sourcePath)
    {
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
        var vip = o.Vip is null ? Missing<IPEndPoint>("vip") : Endpoint(o.Vip.Address, "vip.address", owner: "the VIP");
        var dnsNode = DnsNode(o.Dns);
        var zone = Zone(o.Dns, vip);
        var loadBalancers = Nodes(o.LoadBalancers, "loadBalancers", NodeRole.LoadBalancer);
        var webNodes = Nodes(o.Web, "web", NodeRole.Web);
        var appNodes = Nodes(o.App, "app", NodeRole.App);
        var webCheck = HealthCheck(o.Web?.HealthCheck, "web.healthCheck");
        var appCheck = HealthCheck(o.App?.HealthCheck, "app.healthCheck");
        var webRoot = WebRoot(o.Web?.Root);
        var database = Database(o.Database);

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
            WebHealthCheck = webCheck!,
            AppHealthCheck = appCheck!,
            WebRoot = webRoot!,
            Database = database!,
        };
    }

    private void Error(string field, string problem) => _errors.Add(new TopologyError(field, problem));

    private T? Missing<T>(string field)
        where T : class
    {
        Error(field, "is required");
        return null;
    }

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
            if (name is not null && address is not null)
            {
                nodes.Add(new NodeSpec(name, role, address, address));
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

    private HealthCheckSpec? HealthCheck(HealthCheckOptions? check, string field)
    {
        check ??= new HealthCheckOptions();
        var path = check.Path ?? "/readyz";
        if (!path.StartsWith('/'))
        {
            Error($"{field}.path", $"'{path}' must start with '/'");
        }

        var interval = Positive(check.IntervalMs ?? 1000, $"{field}.intervalMs", 60_000);
        var timeout = Positive(check.TimeoutMs ?? 1000, $"{field}.timeoutMs", 60_000);
        var fall = Positive(check.Fall ?? 2, $"{field}.fall", 100);
        var rise = Positive(check.Rise ?? 1, $"{field}.rise", 100);
        return new HealthCheckSpec(path, TimeSpan.FromMilliseconds(interval), TimeSpan.FromMilliseconds(timeout), fall, rise);
    }

    private int Positive(int value, string field, int max)
    {
        if (value < 1 || value > max)
        {
            Error(field, $"{value.ToString(CultureInfo.InvariantCulture)} is out of range (1 to {max.ToString(CultureInfo.InvariantCulture)})");
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

    private DatabaseSpec? Database(DatabaseOptions? database)
    {
        var engine = database?.Engine ?? "sqlite";
        if (!string.Equals(engine, "sqlite", StringComparison.Ordinal))
        {
            Error("database.engine", $"'{engine}' is not supported; the engines are: sqlite");
            return null;
        }

        var path = database?.Path ?? Path.Combine(".strata", "foobar.db");
        if (string.IsNullOrWhiteSpace(path))
        {
            Error("database.path", "must name the SQLite file");
            return null;
        }

        return new DatabaseSpec(engine, Path.GetFullPath(Path.Combine(_baseDirectory, path)));
    }

    [GeneratedRegex("^[a-z][a-z0-9-]{0,62}$")]
    private static partial Regex NodeNameRegex();

    [GeneratedRegex(@"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")]
    private static partial Regex DnsNameRegex();
}
