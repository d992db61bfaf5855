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
    public TierOptions? LoadBalancers { get; init; }

    /// <summary>The web tier: static files, forwarding the rest to the app tier.</summary>
    public WebTierOptions? Web { get; init; }

    /// <summary>The application tier.</summary>
    public TierOptions? App { get; init; }

    /// <summary>Where the application's data lives.</summary>
    public DatabaseOptions? Database { get; init; }
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
}

/// <summary>The virtual IP address.</summary>
public sealed record VipOptions
{
    /// <summary>The address clients connect to, as host:port.</summary>
    public string? Address { get; init; }
}

/// <summary>A tier of identical servers.</summary>
public record TierOptions
{
    /// <summary>The tier's servers.</summary>
    public IReadOnlyList<NodeOptions>? Nodes { get; init; }

    /// <summary>How the tier in front checks these servers.</summary>
    public HealthCheckOptions? HealthCheck { get; init; }
}

/// <summary>The web tier.</summary>
public sealed record WebTierOptions : TierOptions
{
    /// <summary>Directory of static files, relative to the topology file [wwwroot].</summary>
    public string? Root { get; init; }
}

/// <summary>One server.</summary>
public sealed record NodeOptions
{
    /// <summary>Unique node name, e.g. web-1.</summary>
    public string? Name { get; init; }

    /// <summary>Where the node serves traffic, as host:port.</summary>
    public string? Address { get; init; }
}

/// <summary>Active health check of a tier's servers by the tier in front of it.</summary>
public sealed record HealthCheckOptions
{
    /// <summary>Path requested on each server [/readyz].</summary>
    public string? Path { get; init; }

    /// <summary>Milliseconds between checks [1000].</summary>
    public int? IntervalMs { get; init; }

    /// <summary>Milliseconds before a check counts as failed [1000].</summary>
    public int? TimeoutMs { get; init; }

    /// <summary>Consecutive failures that take a server out [2].</summary>
    public int? Fall { get; init; }

    /// <summary>Consecutive successes that bring it back [1].</summary>
    public int? Rise { get; init; }
}

/// <summary>The database.</summary>
public sealed record DatabaseOptions
{
    /// <summary>Engine name: "sqlite" (embedded) [sqlite].</summary>
    public string? Engine { get; init; }

    /// <summary>SQLite file, relative to the topology file [.strata/foobar.db].</summary>
    public string? Path { get; init; }
}
