namespace Strata.Hosting.Leases;

/// <summary>What a candidate asks a voter: the lease for <see cref="Candidate"/>, for <see cref="DurationMs"/>.</summary>
/// <param name="Candidate">The node asking.</param>
/// <param name="Mode">
/// How the candidate writes while it holds the lease: <see cref="LeaseVoter.Strict"/> (no commit acknowledged before a
/// replica has it) or <see cref="LeaseVoter.Alone"/> (commits acknowledged with no replica); or
/// <see cref="LeaseVoter.Candidate"/> before it is primary.
/// </param>
/// <param name="DurationMs">How long the grant lasts unless renewed.</param>
/// <param name="Release">The holder gives the lease up (a switchover), after its writes are on the replica that takes over.</param>
public sealed record LeaseRequest(string Candidate, string Mode, int DurationMs, bool Release = false);

/// <summary>A voter's answer.</summary>
/// <param name="Granted">Whether the candidate holds this voter's grant now.</param>
/// <param name="Holder">Who holds it (the candidate when granted), or null.</param>
/// <param name="RemainingMs">How long the holder's grant lasts here.</param>
/// <param name="Reason">Why it was refused, or null.</param>
public sealed record LeaseAnswer(bool Granted, string? Holder, int RemainingMs, string? Reason);

/// <summary>
/// One voter's part of the lease on the database primary (docs/database.md, "Who is primary"): it grants the lease to
/// one node at a time, for a limited time the holder renews; another node gets it only once that time has run out
/// here, and never after a holder that wrote alone (its last acknowledged writes may exist nowhere else). A node is
/// primary while a majority of the voters grant it the lease, so two majorities always share a voter and two nodes
/// are never primary at once. The state is in memory: a voter that restarts knows no holder, which the majority
/// covers (one voter lost at a time) — except on the node that wrote alone, which dies with its own voter: that one
/// starts knowing it (<paramref name="writtenAlone"/>, from the node's marker file). Written by hand: the rule is a dozen lines, and no library in the registry here
/// offers leases without a consensus service to run beside Strata.
/// </summary>
/// <param name="time">The clock grants run out on.</param>
/// <param name="writtenAlone">A node known to have written alone when this voter starts (its own node, after a crash).</param>
public sealed class LeaseVoter(TimeProvider time, string? writtenAlone = null)
{
    /// <summary>The holder acknowledges a commit only once a replica has it: said by a primary, it clears its mark of having written alone.</summary>
    public const string Strict = "strict";

    /// <summary>The holder acknowledges commits with no replica: from now on only it may hold the lease.</summary>
    public const string Alone = "alone";

    /// <summary>A node asking before it is primary: it has written nothing yet, and its request changes no mark.</summary>
    public const string Candidate = "candidate";

    private readonly Lock _lock = new();
    private string? _holder;
    private long _expires;

    /// <summary>The node that wrote alone and has not been strict since, or null: no other node gets the lease.</summary>
    private string? _alone = writtenAlone;

    /// <summary>
    /// Answers a request, or a holder's release: with <see cref="Strict"/> (a switchover: the node that takes over
    /// has every write) it also clears the holder's mark of having written alone; with <see cref="Candidate"/> (a
    /// candidate that got no majority gives its grants back so they block nobody) the mark stays.
    /// </summary>
    public LeaseAnswer Ask(LeaseRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var now = time.GetTimestamp();
        lock (_lock)
        {
            var remaining = _holder is not null && _expires > now ? (int)time.GetElapsedTime(now, _expires).TotalMilliseconds : 0;
            if (request.Release)
            {
                if (_holder == request.Candidate)
                {
                    _holder = null;
                    if (request.Mode == Strict && _alone == request.Candidate)
                    {
                        _alone = null;
                    }
                }

                return new LeaseAnswer(false, _holder, 0, null);
            }

            if (_holder is not null && _holder != request.Candidate && remaining > 0)
            {
                return new LeaseAnswer(false, _holder, remaining, $"{_holder} holds the lease");
            }

            if (_alone is not null && _alone != request.Candidate)
            {
                return new LeaseAnswer(false, _holder, 0, $"{_alone} wrote without a replica when it was last primary: only it has every acknowledged write");
            }

            _holder = request.Candidate;
            _expires = now + (long)(request.DurationMs * (time.TimestampFrequency / 1000.0));
            _alone = request.Mode switch
            {
                Alone => request.Candidate,
                Strict when _alone == request.Candidate => null,
                _ => _alone,
            };
            return new LeaseAnswer(true, _holder, request.DurationMs, null);
        }
    }
}
