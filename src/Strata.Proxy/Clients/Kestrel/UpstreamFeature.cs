using Strata.Proxy.Routing;
using Strata.Proxy.Upstreams;

namespace Strata.Proxy.Clients.Kestrel;

/// <summary>
/// What the Kestrel path keeps on a request between the pipeline's stages: its route when a stage after routing
/// needs it (a web node's static files, YARP's transform with header edits), and the server the current attempt went
/// to with the persistence cookie naming it. Set only when needed, so a plain request allocates none.
/// </summary>
internal sealed class UpstreamFeature
{
    public Route? Route { get; set; }

    public Upstream? Upstream { get; set; }

    /// <summary>The persistence cookie's name for <see cref="Upstream"/>'s pool, or null.</summary>
    public string? Cookie { get; set; }

    /// <summary>With a request log, when YARP's attempt started (a Stopwatch timestamp); 0 otherwise.</summary>
    public long Sent { get; set; }

    /// <summary>With a request log, the ticks from <see cref="Sent"/> to the response head, -1 before it came.</summary>
    public long ResponseTicks { get; set; } = -1;

    /// <summary>Notes that the response head came (YARP's response transform runs then).</summary>
    public void ResponseHeadCame()
    {
        if (Sent != 0)
        {
            ResponseTicks = System.Diagnostics.Stopwatch.GetTimestamp() - Sent;
        }
    }

    /// <summary>The request's feature, added if it has none yet.</summary>
    public static UpstreamFeature Of(Microsoft.AspNetCore.Http.HttpContext context)
    {
        if (context.Features.Get<UpstreamFeature>() is not { } feature)
        {
            feature = new UpstreamFeature();
            context.Features.Set(feature);
        }

        return feature;
    }
}
