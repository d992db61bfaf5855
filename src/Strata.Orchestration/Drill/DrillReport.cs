namespace Strata.Orchestration.Drill;

/// <summary>
/// The report of one drill (docs/drill.md explains each field): the requests and how they failed, each event with the
/// time without service it caused, the tiers' spread, the read-back of the acknowledged writes, and the verdict.
/// Written as text (<see cref="DrillReportText"/>) and JSON (<see cref="DrillJsonContext"/>).
/// </summary>
/// <param name="Topology">The topology file.</param>
/// <param name="Vip">The VIP's address the load went to.</param>
/// <param name="Seed">The seed of the victims: <c>--seed</c> repeats them.</param>
/// <param name="DurationSeconds">How long events were started for (<c>--duration</c>).</param>
/// <param name="Tiers">The tiers struck.</param>
/// <param name="Clients">Client loops.</param>
/// <param name="RatePerClient">Requests a second each loop sent at most.</param>
/// <param name="RequestTimeoutMs">A request's timeout.</param>
/// <param name="StartedAt">When the load began.</param>
/// <param name="LoadSeconds">How long the load ran.</param>
/// <param name="Interrupted">Stopped early (Ctrl+C): the victim of the event under way was still restored.</param>
/// <param name="Requests">Every request and how they failed.</param>
/// <param name="Writes">The acknowledged writes and what the read-back found.</param>
/// <param name="Events">Each event, in order.</param>
/// <param name="PerTier">Each struck tier's events summed up.</param>
/// <param name="UnexpectedFailures">The first <see cref="MaxSamples"/> unexpected failures, each with its event.</param>
/// <param name="OtherFailures">Failures of cause "other", by description, with their counts.</param>
/// <param name="Result">The verdict and the exit code.</param>
public sealed record DrillReport(
    string Topology,
    string Vip,
    int Seed,
    double DurationSeconds,
    IReadOnlyList<string> Tiers,
    int Clients,
    double RatePerClient,
    double RequestTimeoutMs,
    DateTimeOffset StartedAt,
    double LoadSeconds,
    bool Interrupted,
    DrillTotals Requests,
    DrillWrites Writes,
    IReadOnlyList<DrillEventReport> Events,
    IReadOnlyList<DrillTierReport> PerTier,
    IReadOnlyList<DrillFailureSample> UnexpectedFailures,
    IReadOnlyDictionary<string, int> OtherFailures,
    DrillVerdict Result)
{
    /// <summary>How many unexpected failures the report lists one by one.</summary>
    public const int MaxSamples = 100;

    /// <summary>The report of what <paramref name="recording"/> holds: every failure classified and attributed to its event.</summary>
    internal static DrillReport Build(DrillRecording recording) => new DrillAnalysis(recording).Report();
}

/// <summary>Failures by cause.</summary>
public sealed record DrillFailureCounts(int Refused, int Reset, int Timeout, int Http502, int Http503, int Http504, int Other)
{
    /// <summary>No failure.</summary>
    public static readonly DrillFailureCounts Zero = new(0, 0, 0, 0, 0, 0, 0);

    /// <summary>All of them.</summary>
    public int Total => Refused + Reset + Timeout + Http502 + Http503 + Http504 + Other;

    /// <summary>These counts with one more failure of <paramref name="cause"/>.</summary>
    public DrillFailureCounts Add(FailureCause cause) => cause switch
    {
        FailureCause.Refused => this with { Refused = Refused + 1 },
        FailureCause.Reset => this with { Reset = Reset + 1 },
        FailureCause.Timeout => this with { Timeout = Timeout + 1 },
        FailureCause.Http502 => this with { Http502 = Http502 + 1 },
        FailureCause.Http503 => this with { Http503 = Http503 + 1 },
        FailureCause.Http504 => this with { Http504 = Http504 + 1 },
        FailureCause.Other => this with { Other = Other + 1 },
        _ => this,
    };

    /// <summary>These counts and <paramref name="other"/>'s together.</summary>
    public DrillFailureCounts Plus(DrillFailureCounts other) =>
        new(Refused + other.Refused, Reset + other.Reset, Timeout + other.Timeout, Http502 + other.Http502, Http503 + other.Http503, Http504 + other.Http504, Other + other.Other);

    /// <summary>The causes that happened, as (name, count), in the order of <see cref="FailureCause"/>.</summary>
    public IEnumerable<(string Cause, int Count)> NonZero()
    {
        (FailureCause, int)[] all = [(FailureCause.Refused, Refused), (FailureCause.Reset, Reset), (FailureCause.Timeout, Timeout),
            (FailureCause.Http502, Http502), (FailureCause.Http503, Http503), (FailureCause.Http504, Http504), (FailureCause.Other, Other)];
        return all.Where(c => c.Item2 > 0).Select(c => (DrillFailures.Name(c.Item1), c.Item2));
    }
}

/// <summary>Every request of the load.</summary>
/// <param name="Total">Requests sent.</param>
/// <param name="Reads">GETs: files and dynamic pages.</param>
/// <param name="DynamicReads">GETs the app answered from the database (part of <paramref name="Reads"/>).</param>
/// <param name="Writes">POSTs of messages.</param>
/// <param name="ReadFailures">Failed GETs by cause.</param>
/// <param name="WriteFailures">Failed POSTs by cause.</param>
/// <param name="InFlightOnKilledLoadBalancer">GETs in flight on the VIP's holder when it was killed (or cut): lost with it.</param>
/// <param name="WhileVipMoved">GETs sent after the VIP's holder was killed (or cut), before the VIP answered again (at most
/// VRRP's master-down interval and a second), that found no one on it.</param>
/// <param name="UnexpectedReads">Failed GETs that neither excuses: each fails the drill.</param>
/// <param name="UnexpectedWrites">Failed POSTs while no event was under way: each fails the drill.</param>
public sealed record DrillTotals(
    int Total, int Reads, int DynamicReads, int Writes, DrillFailureCounts ReadFailures, DrillFailureCounts WriteFailures,
    int InFlightOnKilledLoadBalancer, int WhileVipMoved, int UnexpectedReads, int UnexpectedWrites)
{
    /// <summary>Failures of every kind.</summary>
    public int Failed => ReadFailures.Total + WriteFailures.Total;

    /// <summary>Failures that fail the drill.</summary>
    public int Unexpected => UnexpectedReads + UnexpectedWrites;
}

/// <summary>The acknowledged writes and what the read-back found of them.</summary>
/// <param name="Attempted">POSTs sent.</param>
/// <param name="Acknowledged">Answered 201.</param>
/// <param name="Verified">Whether the read-back read every page it needed; when not, <paramref name="Missing"/> is unknown.</param>
/// <param name="Present">Acknowledged writes the app lists now.</param>
/// <param name="Missing">Acknowledged writes it does not: lost.</param>
/// <param name="MissingWrites">The lost ones: the id each 201 gave and its text.</param>
/// <param name="Duplicated">Extra copies of a drill message (a POST the HTTP client sent twice).</param>
/// <param name="Problem">Why the read-back did not finish, or null.</param>
public sealed record DrillWrites(int Attempted, int Acknowledged, bool Verified, int Present, int Missing, IReadOnlyList<AcknowledgedWrite> MissingWrites, int Duplicated, string? Problem);

/// <summary>One event and what it cost (milliseconds; null where no such success followed before the load ended).</summary>
/// <param name="Number">1, 2, ...</param>
/// <param name="Tier">The victim's tier.</param>
/// <param name="Node">The victim.</param>
/// <param name="Kind">kill or cut.</param>
/// <param name="AtSeconds">When, since the load began.</param>
/// <param name="HeldVip">A load balancer that held (listened on) the VIP when struck.</param>
/// <param name="Restored">Started (or healed) again.</param>
/// <param name="RestoredAfterMs">From the event to the restart (or heal) command.</param>
/// <param name="BackInService">Ready again, every web and app node up at every proxy in front, the VIP settled.</param>
/// <param name="BackAfterMs">From the event to that.</param>
/// <param name="Problem">What went wrong with the event itself.</param>
/// <param name="UnavailableReadsMs">From the event to the first successful GET sent after it.</param>
/// <param name="UnavailableDynamicReadsMs">The same for dynamic pages only (those need the app and the database).</param>
/// <param name="UnavailableWritesMs">The same for POSTs (answered 201).</param>
/// <param name="LongestReadGapMs">The longest time between two successful GETs from the last one before the event to the next event.</param>
/// <param name="LongestDynamicReadGapMs">The same for dynamic pages.</param>
/// <param name="LongestWriteGapMs">The same for POSTs.</param>
/// <param name="Requests">Requests that ended from this event to the next.</param>
/// <param name="ReadFailures">GETs that failed then, by cause.</param>
/// <param name="WriteFailures">POSTs that failed then, by cause.</param>
/// <param name="InFlightOnKilledLoadBalancer">Of those GETs, in flight on this load balancer.</param>
/// <param name="WhileVipMoved">Of those GETs, sent while the VIP moved away from it.</param>
/// <param name="Unexpected">Failures that fail the drill.</param>
public sealed record DrillEventReport(
    int Number, string Tier, string Node, string Kind, double AtSeconds, bool HeldVip, bool Restored, double? RestoredAfterMs, bool BackInService, double? BackAfterMs, string? Problem,
    double? UnavailableReadsMs, double? UnavailableDynamicReadsMs, double? UnavailableWritesMs,
    double LongestReadGapMs, double LongestDynamicReadGapMs, double LongestWriteGapMs,
    int Requests, DrillFailureCounts ReadFailures, DrillFailureCounts WriteFailures, int InFlightOnKilledLoadBalancer, int WhileVipMoved, int Unexpected);

/// <summary>One unexpected failure, where it happened.</summary>
/// <param name="Event">The event it is attributed to; null before the first.</param>
/// <param name="SentAtSeconds">When it was sent, since the load began.</param>
/// <param name="SentAfterEventMs">When it was sent, from its event (negative: in flight at the event).</param>
/// <param name="AfterRestore">Sent once the victim was started (or healed) again: the recovery's doing, not the loss's.</param>
/// <param name="Request">GET static, GET dynamic or POST.</param>
/// <param name="Cause">refused, reset, timeout, 502, 503, 504 or other.</param>
/// <param name="Status">The answer's status; 0 without one.</param>
public sealed record DrillFailureSample(int? Event, double SentAtSeconds, double? SentAfterEventMs, bool AfterRestore, string Request, string Cause, int Status);

/// <summary>A tier's events summed up.</summary>
/// <param name="Tier">The tier.</param>
/// <param name="Events">How many of its nodes were struck.</param>
/// <param name="UnavailableReadsMs">The events' <see cref="DrillEventReport.UnavailableReadsMs"/>.</param>
/// <param name="UnavailableDynamicReadsMs">Their <see cref="DrillEventReport.UnavailableDynamicReadsMs"/>.</param>
/// <param name="UnavailableWritesMs">Their <see cref="DrillEventReport.UnavailableWritesMs"/>.</param>
/// <param name="Failures">Failed requests during its events.</param>
/// <param name="Unexpected">Of those, unexpected.</param>
public sealed record DrillTierReport(string Tier, int Events, DrillSpread UnavailableReadsMs, DrillSpread UnavailableDynamicReadsMs, DrillSpread UnavailableWritesMs, int Failures, int Unexpected);

/// <summary>The largest and the median of a measure over a tier's events; <paramref name="NotRecovered"/> events had no success at all after them.</summary>
public sealed record DrillSpread(double? Max, double? Median, int NotRecovered)
{
    internal static DrillSpread Of(IEnumerable<double?> values)
    {
        var list = values.ToList();
        var known = list.OfType<double>().Order().ToList();
        double? median = known.Count == 0 ? null
            : known.Count % 2 == 1 ? known[known.Count / 2]
            : Math.Round((known[(known.Count / 2) - 1] + known[known.Count / 2]) / 2, 1);
        return new DrillSpread(known.Count == 0 ? null : known[^1], median, list.Count - known.Count);
    }
}

/// <summary>The drill's verdict.</summary>
/// <param name="ExitCode">0 when it passed, 1 otherwise.</param>
/// <param name="Passed">No acknowledged write lost (and the read-back finished), no unexpected failure, every victim back in service.</param>
/// <param name="Reasons">Why it did not pass, one line each.</param>
public sealed record DrillVerdict(int ExitCode, bool Passed, IReadOnlyList<string> Reasons);

/// <summary>What a drill recorded, for <see cref="DrillReport.Build"/>: a pure function of this.</summary>
internal sealed record DrillRecording
{
    public required DrillOptions Options { get; init; }

    public required IReadOnlyList<string> Tiers { get; init; }

    public required string Topology { get; init; }

    public required string Vip { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>When the load stopped (ms since it began).</summary>
    public required double LoadEndMs { get; init; }

    /// <summary>Every request.</summary>
    public required IReadOnlyList<DrillRequest> Requests { get; init; }

    public required IReadOnlyList<DrillEvent> Events { get; init; }

    public required DrillVerification Verification { get; init; }

    public IReadOnlyDictionary<string, int> OtherFailures { get; init; } = new Dictionary<string, int>();

    /// <summary>
    /// How long after its holder is struck the VIP may take to answer again before a refused GET is unexpected: VRRP's
    /// master-down interval (three advertisement intervals and the skew) and a second for the new holder to listen.
    /// </summary>
    public required TimeSpan VipMoveBound { get; init; }

    public bool Interrupted { get; init; }
}
