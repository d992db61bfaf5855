using System.Globalization;
using System.Diagnostics;
using MySqlConnector;
using Strata.Hosting;

namespace Strata.Database.Server;

/// <summary>Ready while the server runs, its account exists and it answers <c>SELECT 1</c> on its socket within 2 s.</summary>
internal sealed class MariaDbReadinessCheck(MariaDbServer server) : IReadinessCheck
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    public string Name => "mariadb";

    public async Task<ReadinessResult> CheckAsync(CancellationToken cancellationToken)
    {
        if (!server.IsReady)
        {
            return new ReadinessResult(false, "the server is not running");
        }

        var started = Stopwatch.GetTimestamp();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            await server.PingAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new ReadinessResult(false, string.Create(CultureInfo.InvariantCulture, $"no answer within {Timeout.TotalSeconds:0} s"));
        }
        catch (MySqlException ex)
        {
            return new ReadinessResult(false, ex.Message);
        }

        return new ReadinessResult(true, string.Create(CultureInfo.InvariantCulture, $"answered in {Stopwatch.GetElapsedTime(started).TotalMilliseconds:0} ms"));
    }
}
