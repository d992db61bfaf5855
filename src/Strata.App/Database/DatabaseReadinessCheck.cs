using System.Data.Common;
using System.Globalization;
using Strata.Data.Messages;
using Strata.Data;
using Strata.Hosting;

namespace Strata.App.Database;

/// <summary>Ready while the database answers a query within <see cref="Timeout"/>.</summary>
internal sealed class DatabaseReadinessCheck(IMessageStore store, TimeProvider timeProvider) : IReadinessCheck
{
    /// <summary>Below the tiers' health-check timeout, so a slow database reads as "not ready", not "no answer".</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    public string Name => "database";

    public async Task<ReadinessResult> CheckAsync(CancellationToken cancellationToken)
    {
        var started = timeProvider.GetTimestamp();

        // SQLite's async methods run synchronously; run the ping on the pool so the timeout can fire meanwhile.
        var ping = Task.Run(() => store.PingAsync(cancellationToken), cancellationToken);
        try
        {
            await ping.WaitAsync(Timeout, timeProvider, cancellationToken);
        }
        catch (TimeoutException)
        {
            // The ping may still fail later; observe it so that is not an unobserved task exception.
            _ = ping.ContinueWith(static t => t.Exception, TaskContinuationOptions.OnlyOnFaulted);
            return new ReadinessResult(false, string.Create(CultureInfo.InvariantCulture, $"no answer within {Timeout.TotalSeconds:0} s"));
        }
        catch (DbException ex)
        {
            return new ReadinessResult(false, ex.Message);
        }

        var elapsed = timeProvider.GetElapsedTime(started);
        return new ReadinessResult(true, string.Create(CultureInfo.InvariantCulture, $"answered in {elapsed.TotalMilliseconds:0} ms"));
    }
}
