using System.Data.Common;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;

namespace Strata.App.Database;

/// <summary>
/// Answers a request whose database call failed with 503 and a problem body (never the exception), so the tier in
/// front can retry elsewhere, and counts it (<see cref="DatabaseMetrics"/>). Logs at most one failure per
/// <see cref="LogInterval"/>: an outage fails every request.
/// </summary>
internal sealed partial class DatabaseExceptionHandler(
    IProblemDetailsService problemDetails,
    DatabaseMetrics metrics,
    TimeProvider timeProvider,
    ILogger<DatabaseExceptionHandler> logger) : IExceptionHandler
{
    public static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    /// <summary>Seconds a client should wait: about the database's own lock timeout.</summary>
    private const string RetryAfterSeconds = "5";

    private long _lastLogged = long.MinValue;
    private int _suppressed;

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not DbException)
        {
            return false;
        }

        metrics.Failed();
        Report(exception);
        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = RetryAfterSeconds;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "The database is unavailable",
                Detail = "The request could not be completed; try again shortly.",
            },
        });
    }

    private void Report(Exception exception)
    {
        var now = timeProvider.GetTimestamp();
        var last = Interlocked.Read(ref _lastLogged);
        if (last != long.MinValue && timeProvider.GetElapsedTime(last, now) < LogInterval)
        {
            Interlocked.Increment(ref _suppressed);
            return;
        }

        if (Interlocked.CompareExchange(ref _lastLogged, now, last) == last)
        {
            LogDatabaseFailed(logger, Interlocked.Exchange(ref _suppressed, 0), exception.Message);
        }
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "Answering 503: the database failed: {Reason} ({Suppressed} further failures went unlogged since the last report)")]
    private static partial void LogDatabaseFailed(ILogger logger, int suppressed, string reason);
}
