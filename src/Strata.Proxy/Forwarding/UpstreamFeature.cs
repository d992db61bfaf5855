using Strata.Proxy.Upstreams;

namespace Strata.Proxy.Forwarding;

/// <summary>The server the current attempt of a request went to, for the response transform (persistence cookie).</summary>
internal sealed class UpstreamFeature
{
    public Upstream? Upstream { get; set; }
}
