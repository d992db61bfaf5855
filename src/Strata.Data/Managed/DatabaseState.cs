using System.Text.Json.Serialization;

namespace Strata.Data.Managed;

/// <summary>
/// A database node's <c>GET /db/state</c>: its role, how far its data goes, whom it follows. Read by the other database
/// nodes (who is primary, who is most advanced), the app nodes (where to write), <c>strata status</c> and the dashboard.
/// </summary>
/// <param name="Node">The node.</param>
/// <param name="Role">One of the <see cref="Roles"/>.</param>
/// <param name="Mode">A primary's: "strict" (a commit is acknowledged once a replica has it) or "alone"; else null.</param>
/// <param name="Gtid">Every transaction the server holds (gtid_current_pos).</param>
/// <param name="Sequence">The last one's sequence number.</param>
/// <param name="ReceivedSequence">The last one received from the primary, applied or not.</param>
/// <param name="ReadOnly">The server refuses writes.</param>
/// <param name="Following">The primary a replica follows.</param>
/// <param name="LagSeconds">A replica's Seconds_Behind_Master.</param>
/// <param name="HandingOverTo">The replica a primary in a switchover gives the lease to.</param>
/// <param name="Reason">Why the node is what it is, when that is not plain (starting, diverged).</param>
public sealed record DatabaseState(
    [property: JsonPropertyName("node")] string Node,
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("mode")] string? Mode,
    [property: JsonPropertyName("gtid")] string Gtid,
    [property: JsonPropertyName("sequence")] long Sequence,
    [property: JsonPropertyName("receivedSequence")] long ReceivedSequence,
    [property: JsonPropertyName("readOnly")] bool ReadOnly,
    [property: JsonPropertyName("following")] string? Following,
    [property: JsonPropertyName("lagSeconds")] double? LagSeconds,
    [property: JsonPropertyName("handingOverTo")] string? HandingOverTo,
    [property: JsonPropertyName("reason")] string? Reason)
{
    /// <summary>Where a database node answers it, on its management address.</summary>
    public const string Path = "/db/state";
}

/// <summary>The roles a database node reports.</summary>
public static class Roles
{
    /// <summary>Holds the lease and takes writes.</summary>
    public const string Primary = "primary";

    /// <summary>Follows the primary, read-only.</summary>
    public const string Replica = "replica";

    /// <summary>Its server runs, read-only; it has not found a primary to follow or become yet.</summary>
    public const string Starting = "starting";

    /// <summary>Holds transactions the primary never had: it does not follow, and says so (docs/database.md).</summary>
    public const string Diverged = "diverged";
}
