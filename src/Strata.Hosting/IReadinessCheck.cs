namespace Strata.Hosting;

/// <summary>The outcome of one readiness check.</summary>
/// <param name="Ready">Whether this part of the node can serve.</param>
/// <param name="Detail">A short human-readable reason, e.g. "2 of 2 web nodes healthy".</param>
public sealed record ReadinessResult(bool Ready, string Detail);

/// <summary>One thing a node needs before it is ready; all registered checks make up GET /readyz.</summary>
public interface IReadinessCheck
{
    /// <summary>Short name shown in the /readyz body, e.g. "database".</summary>
    string Name { get; }

    /// <summary>Checks now; must answer within the request's lifetime.</summary>
    Task<ReadinessResult> CheckAsync(CancellationToken cancellationToken);
}
