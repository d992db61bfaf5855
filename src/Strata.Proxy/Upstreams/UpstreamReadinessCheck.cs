using Strata.Hosting;

namespace Strata.Proxy.Upstreams;

/// <summary>Reports how many servers of a pool are healthy; ready when at least one is, if <paramref name="required"/>.</summary>
internal sealed class UpstreamReadinessCheck(UpstreamPool pool, bool required) : IReadinessCheck
{
    public string Name => "upstreams";

    public Task<ReadinessResult> CheckAsync(CancellationToken cancellationToken)
    {
        var healthy = pool.HealthyCount;
        var detail = $"{healthy} of {pool.Members.Length} {pool.TierName} nodes healthy";
        return Task.FromResult(new ReadinessResult(!required || healthy > 0, detail));
    }
}
