using System.Diagnostics;
using Strata.Data.Messages;

namespace Strata.App.Database;

/// <summary>
/// A span around each call of the guestbook's store, named as OpenTelemetry's database conventions name them
/// ("SELECT messages"), so a trace shows the database call under the app's request whatever the engine:
/// Microsoft.Data.Sqlite has no activity source of its own; MySqlConnector's command spans nest under these.
/// </summary>
/// <remarks>Wrapped around the store only when the node traces (<c>NodeTracing.IsOn</c>).</remarks>
internal sealed class TracedMessageStore(IMessageStore inner, string engine) : IMessageStore
{
    /// <summary>The app node's activity source (traced with every <c>Strata.*</c> source).</summary>
    public static readonly ActivitySource Source = new("Strata.App");

    private const string Table = "messages";

    public Task InitializeAsync(CancellationToken cancellationToken) => inner.InitializeAsync(cancellationToken);

    public async Task<Message> AddAsync(string author, string text, CancellationToken cancellationToken)
    {
        using var span = Start("INSERT");
        try
        {
            return await inner.AddAsync(author, text, cancellationToken);
        }
        catch (Exception e) when (Failed(span, e))
        {
            throw;
        }
    }

    public async Task<IReadOnlyList<Message>> LatestAsync(int limit, CancellationToken cancellationToken)
    {
        using var span = Start("SELECT");
        try
        {
            return await inner.LatestAsync(limit, cancellationToken);
        }
        catch (Exception e) when (Failed(span, e))
        {
            throw;
        }
    }

    public async Task<IReadOnlyList<Message>> OlderAsync(long before, int limit, CancellationToken cancellationToken)
    {
        using var span = Start("SELECT");
        try
        {
            return await inner.OlderAsync(before, limit, cancellationToken);
        }
        catch (Exception e) when (Failed(span, e))
        {
            throw;
        }
    }

    public async Task<bool> DeleteAsync(long id, CancellationToken cancellationToken)
    {
        using var span = Start("DELETE");
        try
        {
            return await inner.DeleteAsync(id, cancellationToken);
        }
        catch (Exception e) when (Failed(span, e))
        {
            throw;
        }
    }

    public async Task<Message?> FindAsync(long id, CancellationToken cancellationToken)
    {
        using var span = Start("SELECT");
        try
        {
            return await inner.FindAsync(id, cancellationToken);
        }
        catch (Exception e) when (Failed(span, e))
        {
            throw;
        }
    }

    // Readiness pings are not traced: several a second, and no request's.
    public Task PingAsync(CancellationToken cancellationToken) => inner.PingAsync(cancellationToken);

    /// <summary>The call's span, current until disposed (null when the trace is not sampled).</summary>
    private Activity? Start(string operation)
    {
        var span = Source.StartActivity($"{operation} {Table}", ActivityKind.Client);
        span?.SetTag("db.system.name", engine);
        span?.SetTag("db.operation.name", operation);
        span?.SetTag("db.collection.name", Table);
        return span;
    }

    /// <summary>Marks the span failed; false, so the exception goes on unchanged (an exception filter).</summary>
    private static bool Failed(Activity? span, Exception e)
    {
        span?.SetStatus(ActivityStatusCode.Error, e.Message);
        span?.SetTag("error.type", e.GetType().FullName);
        return false;
    }
}
