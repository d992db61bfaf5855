using System.Collections.Immutable;
using System.Net;

namespace Strata.Topology;

/// <summary>A validated named pool of servers beside a tier's default one.</summary>
/// <param name="Name">The pool's name, as routes, /stats and /metrics call it; the default pool is named after its tier ("web", "app").</param>
/// <param name="Nodes">Its servers.</param>
/// <param name="Backend">How the tier in front treats them.</param>
public sealed record PoolSpec(string Name, ImmutableArray<NodeSpec> Nodes, BackendSpec Backend);

/// <summary>A validated route (<see cref="RouteOptions"/>).</summary>
/// <param name="Name">Its name.</param>
/// <param name="Match">What a request must have.</param>
/// <param name="Pool">The pool's name.</param>
/// <param name="Request">The request rules, in order.</param>
/// <param name="Response">The response's header edits, in order.</param>
public sealed record RouteSpec(string Name, RouteMatchSpec Match, string Pool, ImmutableArray<RuleSpec> Request, ImmutableArray<HeaderRule> Response);

/// <summary>A route's conditions; an empty list places no condition.</summary>
/// <param name="Hosts">Lower case; "*.name" for any subdomain of name.</param>
/// <param name="Paths">Prefixes of the decoded path.</param>
/// <param name="Methods">Upper case.</param>
/// <param name="Headers">Name and exact value ("*": present).</param>
public sealed record RouteMatchSpec(ImmutableArray<string> Hosts, ImmutableArray<string> Paths, ImmutableArray<string> Methods, ImmutableArray<KeyValuePair<string, string>> Headers)
{
    /// <summary>Matches every request.</summary>
    public static readonly RouteMatchSpec All = new([], [], [], []);

    /// <summary>"http" or "https" (none: either); Strata's own routes only (the HTTPS redirect), not in strata.json.</summary>
    public ImmutableArray<string> Schemes { get; init; } = [];

    /// <summary>Path prefixes that do not match; Strata's own routes only (the ACME challenge), not in strata.json.</summary>
    public ImmutableArray<string> ExceptPaths { get; init; } = [];
}

/// <summary>A validated rule.</summary>
public abstract record RuleSpec;

/// <summary>Answers a redirect.</summary>
/// <param name="Status">301, 302, 303, 307 or 308.</param>
/// <param name="Location">With <c>$scheme</c>, <c>$host</c>, <c>$request_uri</c> still to replace.</param>
public sealed record RedirectRule(int Status, string Location) : RuleSpec;

/// <summary>Answers a fixed status and body.</summary>
public sealed record ReturnRule(int Status, string Body, string ContentType) : RuleSpec;

/// <summary>Lets clients in <paramref name="Clients"/> through (later access rules skipped), or answers them 403.</summary>
public sealed record AccessRule(bool Allow, ImmutableArray<IPNetwork> Clients) : RuleSpec;

/// <summary>
/// Answers 429 with Retry-After to a client address beyond <paramref name="Rate"/> requests per second once its
/// <paramref name="Burst"/> is spent (a token bucket per address; docs/security.md).
/// </summary>
public sealed record RateLimitRule(int Rate, int Burst) : RuleSpec;

/// <summary>What a header rule does.</summary>
public enum HeaderAction
{
    /// <summary>Replaces every header of the name with one value.</summary>
    Set,

    /// <summary>Adds a value beside the others.</summary>
    Add,

    /// <summary>Removes every header of the name.</summary>
    Remove,
}

/// <summary>Sets, adds or removes one header (<paramref name="Value"/> is empty for <see cref="HeaderAction.Remove"/>).</summary>
public sealed record HeaderRule(HeaderAction Action, string Name, string Value) : RuleSpec;
