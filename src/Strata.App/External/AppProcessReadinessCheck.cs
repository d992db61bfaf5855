using Strata.Hosting;

namespace Strata.App.External;

/// <summary>Ready while the user's application answers its health path with 2xx.</summary>
internal sealed class AppProcessReadinessCheck(AppProcessSupervisor supervisor) : IReadinessCheck
{
    public string Name => "application";

    public Task<ReadinessResult> CheckAsync(CancellationToken cancellationToken) => supervisor.CheckHealthAsync(cancellationToken);
}
