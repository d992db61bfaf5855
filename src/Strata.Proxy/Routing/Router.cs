using System.Collections.Immutable;
using Strata.Proxy.Upstreams;
using Strata.Topology;

namespace Strata.Proxy.Routing;

/// <summary>
/// The first stage of the pipeline: the route a request takes, the first whose conditions it meets (HAProxy's
/// <c>use_backend … if</c> in order, nginx's <c>server_name</c> + <c>location</c>), else the default route to the
/// default pool. Replaced whole on reload.
/// </summary>
internal sealed class Router
{
    private volatile Table _table;

    public Router(ImmutableArray<RouteSpec> routes, Backends backends)
    {
        _table = Compile(routes, backends);
    }

    /// <summary>Whether any route matches on the path (the connection path then leaves paths it would have to decode to Kestrel).</summary>
    public bool MatchesPaths => _table.MatchesPaths;

    /// <summary>Whether any route is configured (else every request takes the default route).</summary>
    public bool HasRoutes => _table.Routes.Length > 0;

    /// <summary>The route <paramref name="request"/> takes.</summary>
    public Route Match<TRequest>(TRequest request)
        where TRequest : IRoutedRequest
    {
        var table = _table;
        foreach (var route in table.Routes)
        {
            if (route.Matches(request))
            {
                return route;
            }
        }

        return table.Default;
    }

    /// <summary>Takes a reloaded topology's routes.</summary>
    public void Apply(ImmutableArray<RouteSpec> routes, Backends backends) => _table = Compile(routes, backends);

    private static Table Compile(ImmutableArray<RouteSpec> routes, Backends backends)
    {
        var limiters = backends.RateLimits.Apply(routes);
        return new(
            [.. routes.Select(r => new Route(r, backends.Find(r.Pool) ?? backends.Default, limiters))],
            new Route(backends.Default),
            routes.Any(r => !r.Match.Paths.IsEmpty));
    }

    private sealed record Table(Route[] Routes, Route Default, bool MatchesPaths);
}
