using Strata.Proxy.Upstreams;

namespace Strata.Proxy.Forwarding;

/// <summary>
/// Sees every forwarded request, for metrics. Called on the hot path: implementations must be cheap and
/// must not throw or block.
/// </summary>
public interface IProxyObserver
{
    /// <summary>A request routed to <paramref name="pool"/> has finished; <paramref name="status"/> is what the client got.</summary>
    void RequestCompleted(UpstreamPool pool, int status, TimeSpan elapsed);

    /// <summary>A request is tried again on another server after <paramref name="failed"/> of <paramref name="pool"/> failed it.</summary>
    void Retried(UpstreamPool pool, Upstream failed);

    /// <summary>A request was refused with 429 by the limit of the route <paramref name="route"/>.</summary>
    void RateLimited(string route);
}

/// <summary>Observes nothing: the default when no metrics are registered.</summary>
internal sealed class NullProxyObserver : IProxyObserver
{
    public static readonly NullProxyObserver Instance = new();

    public void RequestCompleted(UpstreamPool pool, int status, TimeSpan elapsed)
    {
    }

    public void Retried(UpstreamPool pool, Upstream failed)
    {
    }

    public void RateLimited(string route)
    {
    }
}
