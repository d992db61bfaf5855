namespace Strata.Topology;

// Routes and rules as written in strata.json (docs/routing.md): the tier that forwards (loadBalancers, web) lists
// routes; the tier behind it (web, app) may have named pools beside its default one.

/// <summary>A named pool of servers beside a tier's default one (HAProxy: another <c>backend</c>; nginx: another <c>upstream</c>).</summary>
public sealed record PoolOptions : BackendTierOptions;

/// <summary>
/// One route of the tier in front: requests that match go to <see cref="Pool"/> after <see cref="Request"/>'s
/// rules, and their answers through <see cref="Response"/>'s. Routes are tried in order; the first that matches
/// wins; a request no route matches goes to the default pool with no rules.
/// </summary>
public sealed record RouteOptions
{
    /// <summary>Shown in logs and errors [route-N].</summary>
    public string? Name { get; init; }

    /// <summary>What a request must have to take this route [everything].</summary>
    public RouteMatchOptions? Match { get; init; }

    /// <summary>A pool of the tier behind, by name: the tier's own ("web", "app") or one of its <c>pools</c> [the default pool].</summary>
    public string? Pool { get; init; }

    /// <summary>Rules applied to the request, in order (redirect, return, allow, deny, setHeaders, addHeaders, removeHeaders).</summary>
    public IReadOnlyList<RuleOptions>? Request { get; init; }

    /// <summary>Rules applied to the response, in order (setHeaders, addHeaders, removeHeaders).</summary>
    public IReadOnlyList<RuleOptions>? Response { get; init; }
}

/// <summary>A route's conditions: each one given must hold; within a list, any entry will do.</summary>
public sealed record RouteMatchOptions
{
    /// <summary>Host names, exact ("api.foobar.com") or a wildcard for any subdomain ("*.foobar.com"); the port is ignored.</summary>
    public IReadOnlyList<string>? Hosts { get; init; }

    /// <summary>Path prefixes, e.g. "/api/" (case-sensitive, as nginx's <c>location</c>).</summary>
    public IReadOnlyList<string>? Paths { get; init; }

    /// <summary>Methods, e.g. ["GET", "HEAD"].</summary>
    public IReadOnlyList<string>? Methods { get; init; }

    /// <summary>Headers and the exact value each must have, e.g. { "X-Canary": "1" }; "*" for any value.</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }
}

/// <summary>One rule: exactly one action.</summary>
public sealed record RuleOptions
{
    /// <summary>Redirects to this location; <c>$scheme</c>, <c>$host</c> and <c>$request_uri</c> are replaced.</summary>
    public string? Redirect { get; init; }

    /// <summary>With <see cref="Redirect"/>: 301, 302, 303, 307 or 308 [302].</summary>
    public int? Status { get; init; }

    /// <summary>Answers this status itself, 200–599, with <see cref="Body"/>.</summary>
    public int? Return { get; init; }

    /// <summary>With <see cref="Return"/>: the body [none].</summary>
    public string? Body { get; init; }

    /// <summary>With <see cref="Return"/>: the body's Content-Type [text/plain; charset=utf-8].</summary>
    public string? ContentType { get; init; }

    /// <summary>Clients (addresses or CIDR ranges, or "all") let through; later allow and deny rules are then skipped.</summary>
    public IReadOnlyList<string>? Allow { get; init; }

    /// <summary>Clients (addresses or CIDR ranges, or "all") answered 403 and never forwarded.</summary>
    public IReadOnlyList<string>? Deny { get; init; }

    /// <summary>Requests per client address answered 429 beyond a rate (nginx's <c>limit_req … burst nodelay</c>).</summary>
    public RateLimitOptions? Limit { get; init; }

    /// <summary>Headers set, replacing any of the same name.</summary>
    public IReadOnlyDictionary<string, string>? SetHeaders { get; init; }

    /// <summary>Headers added beside any of the same name.</summary>
    public IReadOnlyDictionary<string, string>? AddHeaders { get; init; }

    /// <summary>Headers removed.</summary>
    public IReadOnlyList<string>? RemoveHeaders { get; init; }
}

/// <summary>A request rate per client address: a token bucket of <see cref="Burst"/> requests refilled at <see cref="Rate"/> per second.</summary>
public sealed record RateLimitOptions
{
    /// <summary>Requests per second a client may keep up, 1–1,000,000.</summary>
    public int? Rate { get; init; }

    /// <summary>Requests a client may send at once before the rate applies, 1–1,000,000 [the rate].</summary>
    public int? Burst { get; init; }
}
