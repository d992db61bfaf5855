using Strata.Proxy.Upstreams;

namespace Strata.Proxy.Forwarding;

/// <summary>
/// Sees every forwarded request, for metrics. Called on the hot path: implementations must be cheap and
/// must not throw or block.
/// </summary>
public interface IProxyObserver
{
    /// <summary>A request has finished; <paramref name="status"/> is what the client got.</summary>
    void RequestCompleted(int status, TimeSpan elapsed);

    /// <summary>A request is tried again on another server after <paramref name="failed"/> failed it.</summary>
    void Retried(Upstream failed);
}

/// <summary>Observes nothing: the default when no metrics are registered.</summary>
internal sealed class NullProxyObserver : IProxyObserver
{
    public static readonly NullProxyObserver Instance = new();

    public void RequestCompleted(int status, TimeSpan elapsed)
    {
    }

    public void Retried(Upstream failed)
    {
    }
}
