namespace Strata.Data.Messages;

/// <summary>
/// The guestbook's storage, independent of the database engine. Every method opens its own connection, so one
/// instance is safe to share across requests and several processes may use the same database at once.
/// </summary>
/// <remarks>
/// Failures of the database itself surface as <see cref="System.Data.Common.DbException"/>, whatever the engine,
/// so callers can tell "the database is unavailable" from a bug.
/// </remarks>
public interface IMessageStore
{
    /// <summary>
    /// Creates the schema if it is absent and applies the engine's settings. Idempotent, and safe to run from
    /// several processes at the same moment.
    /// </summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>Stores a message and returns it once committed, with its id and creation time.</summary>
    Task<Message> AddAsync(string author, string text, CancellationToken cancellationToken);

    /// <summary>The newest <paramref name="limit"/> messages, newest first.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is less than 1.</exception>
    Task<IReadOnlyList<Message>> LatestAsync(int limit, CancellationToken cancellationToken);

    /// <summary>
    /// The next page after one that ended at <paramref name="before"/>: the newest <paramref name="limit"/> messages
    /// with a smaller id, newest first (keyset pagination: stable while new messages arrive).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is less than 1.</exception>
    Task<IReadOnlyList<Message>> OlderAsync(long before, int limit, CancellationToken cancellationToken);

    /// <summary>Deletes the message with this id once committed; false when there was none.</summary>
    Task<bool> DeleteAsync(long id, CancellationToken cancellationToken);

    /// <summary>The message with this id, or null.</summary>
    Task<Message?> FindAsync(long id, CancellationToken cancellationToken);

    /// <summary>Completes when the database answers a query against the schema; throws otherwise.</summary>
    Task PingAsync(CancellationToken cancellationToken);
}
