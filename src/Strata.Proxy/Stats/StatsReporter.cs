using Strata.Proxy.Routing;
using Strata.Proxy.Upstreams;
using Strata.Topology;

namespace Strata.Proxy.Stats;

/// <summary>Takes a <see cref="StatsReport"/> of a node's pools, the default first: one consistent read of each server's counters.</summary>
internal sealed class StatsReporter(NodeSpec node, Backends backends, RateSampler rates, TimeProvider time, IServedCertificates? certificates)
{
    public StatsReport Report()
    {
        var now = time.GetUtcNow();
        var (requests, errors) = rates.Answers();
        return new StatsReport(
            node.Name,
            now,
            [.. backends.All.Select(pool => Backend(pool, now))],
            certificates is null ? null : [.. certificates.Certificates.Select(c => Certificate(c.Names, c.NotAfter, now))],
            Rate(requests),
            Rate(errors));
    }

    public ServerStats Server(Upstream upstream, DateTimeOffset now)
    {
        var (requests, failures) = rates.Server(upstream);
        return new(
            upstream.Name,
            upstream.StateName,
            upstream.Weight,
            upstream.ActiveRequests,
            upstream.TotalRequests,
            upstream.TotalFailures,
            upstream.LastCheck is { } check ? new CheckStats(check.At, check.Passed, check.Detail, Math.Round((now - check.At).TotalSeconds, 3)) : null,
            Rate(requests),
            Rate(failures));
    }

    private static double Rate(double perSecond) => Math.Round(perSecond, 2);

    private static CertificateStats Certificate(string names, DateTime notAfter, DateTimeOffset now)
    {
        var expires = new DateTimeOffset(notAfter.ToUniversalTime());
        return new(names, expires, Math.Round((expires - now).TotalDays, 1));
    }

    private BackendStats Backend(UpstreamPool pool, DateTimeOffset now) => new(
        pool.TierName,
        pool.Algorithm,
        pool.QueueLength,
        pool.HealthyCount,
        [.. pool.Members.Select(m => Server(m, now))]);
}
