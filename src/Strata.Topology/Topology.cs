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
}

/// <summary>One node of a validated topology.</summary>
/// <param name="Name">Unique name, e.g. web-1.</param>
/// <param name="Role">What it runs.</param>
/// <param name="Address">Where it serves traffic (for DNS: UDP and TCP).</param>
/// <param name="Management">Where its /healthz and /readyz answer over HTTP.</param>
public sealed record NodeSpec(string Name, NodeRole Role, IPEndPoint Address, IPEndPoint Management)
{
    /// <summary>Base URL of the management endpoints.</summary>
    public Uri ManagementUrl => new($"http://{Management}/");
}

/// <summary>A validated active health check.</summary>
public sealed record HealthCheckSpec(string Path, TimeSpan Interval, TimeSpan Timeout, int Fall, int Rise);

/// <summary>A validated DNS zone.</summary>
/// <param name="Zone">Apex, lower case, without the trailing dot.</param>
/// <param name="Ttl">TTL of every record.</param>
/// <param name="Records">A records, keyed by fully qualified lower-case name without the trailing dot.</param>
public sealed record DnsZoneSpec(string Zone, TimeSpan Ttl, ImmutableDictionary<string, IPAddress> Records);

/// <summary>A validated database choice.</summary>
/// <param name="Engine">"sqlite".</param>
/// <param name="Path">Absolute path of the database file.</param>
public sealed record DatabaseSpec(string Engine, string Path);

/// <summary>A loaded and validated topology: the immutable model every role reads its part of.</summary>
public sealed record Topology
{
    /// <summary>Absolute path of the file it was loaded from.</summary>
    public required string SourcePath { get; init; }

    /// <summary>The DNS node.</summary>
    public required NodeSpec Dns { get; init; }

    /// <summary>The zone the DNS node serves.</summary>
    public required DnsZoneSpec Zone { get; init; }

    /// <summary>The virtual IP and port.</summary>
    public required IPEndPoint Vip { get; init; }

    /// <summary>Load balancers, in file order.</summary>
    public required ImmutableArray<NodeSpec> LoadBalancers { get; init; }

    /// <summary>Web nodes, in file order.</summary>
    public required ImmutableArray<NodeSpec> WebNodes { get; init; }

    /// <summary>App nodes, in file order.</summary>
    public required ImmutableArray<NodeSpec> AppNodes { get; init; }

    /// <summary>How the load balancers check the web nodes.</summary>
    public required HealthCheckSpec WebHealthCheck { get; init; }

    /// <summary>How the web nodes check the app nodes.</summary>
    public required HealthCheckSpec AppHealthCheck { get; init; }

    /// <summary>Absolute path of the static files.</summary>
    public required string WebRoot { get; init; }

    /// <summary>The database.</summary>
    public required DatabaseSpec Database { get; init; }

    /// <summary>Every node, DNS first, then tier by tier from the front.</summary>
    public IEnumerable<NodeSpec> AllNodes => [Dns, .. LoadBalancers, .. WebNodes, .. AppNodes];

    /// <summary>The node with this name, or null.</summary>
    public NodeSpec? FindNode(string name) => AllNodes.FirstOrDefault(n => string.Equals(n.Name, name, StringComparison.Ordinal));
}

/// <summary>The short names of roles, as used on the command line and in status output.</summary>
public static class NodeRoles
{
    /// <summary>"dns", "lb", "web" or "app".</summary>
    public static string ShortName(this NodeRole role) => role switch
    {
        NodeRole.Dns => "dns",
        NodeRole.LoadBalancer => "lb",
        NodeRole.Web => "web",
        NodeRole.App => "app",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, null),
    };
}
