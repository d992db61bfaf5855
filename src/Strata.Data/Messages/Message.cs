namespace Strata.Data.Messages;

/// <summary>One guestbook message as stored.</summary>
/// <param name="Id">Identifier assigned by the database; higher is newer.</param>
/// <param name="Author">Who wrote it, as given (already validated by the caller).</param>
/// <param name="Text">What they wrote, as given.</param>
/// <param name="CreatedAt">When it was stored, UTC, to the millisecond.</param>
public sealed record Message(long Id, string Author, string Text, DateTimeOffset CreatedAt);
