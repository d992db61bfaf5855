namespace Strata.Orchestration.Drill;

/// <summary>
/// Turns a <see cref="DrillRecording"/> into a <see cref="DrillReport"/>. Each failure is attributed to the last event
/// before it ended (none: before the first event) and judged (docs/drill.md, "What counts as a failure"):
/// <list type="bullet">
/// <item>a GET may fail only with the load balancer holding the VIP: in flight on it when it was killed or cut, or sent
/// after that and before the VIP answered again (within <see cref="DrillRecording.VipMoveBound"/>), and then only at the
/// connection (refused, reset, timeout) — no proxy is left to answer; every other failed GET is unexpected, since
/// every proxy retries idempotent requests on another server;</item>
/// <item>a POST may fail while its event is under way, until its victim is back in service and the settling time has
/// passed: a proxy cannot send a write whose server died with it to another server, and the client was told nothing
/// was stored; a POST that fails with no event under way is unexpected.</item>
/// </list>
/// </summary>
internal sealed class DrillAnalysis
{
    private readonly DrillRecording _recording;
    private readonly DrillRequest[] _byStart;
    private readonly double[] _starts;
    private readonly double[] _ends;
    private readonly double[] _readAnswers;
    private readonly double[] _dynamicAnswers;
    private readonly double[] _writeAnswers;
    private readonly DrillEvent[] _events;
    private readonly double[] _eventTimes;

    public DrillAnalysis(DrillRecording recording)
    {
        _recording = recording;
        _byStart = [.. recording.Requests.OrderBy(r => r.StartMs)];
        _starts = [.. _byStart.Select(r => r.StartMs)];
        _ends = [.. _byStart.Select(r => r.EndMs).Order()];
        _readAnswers = Answers(r => r.IsRead);
        _dynamicAnswers = Answers(r => r.Kind == DrillRequestKind.Dynamic);
        _writeAnswers = Answers(r => r.Kind == DrillRequestKind.Write);
        _events = [.. recording.Events.OrderBy(e => e.AtMs)];
        _eventTimes = [.. _events.Select(e => e.AtMs)];
    }

    public DrillReport Report()
    {
        var options = _recording.Options;
        var verification = _recording.Verification;
        var judged = _events.Select(_ => new Judgement()).ToArray();
        var outside = new Judgement();
        var unexpected = new List<DrillFailureSample>();
        var firstReadBack = _events.Select(e => FirstSuccessAfter(e.AtMs, r => r.IsRead) ?? double.PositiveInfinity).ToArray();
        foreach (var request in _byStart.Where(r => !r.Succeeded))
        {
            var index = EventAt(request.EndMs);
            if (index < 0)
            {
                outside.Count(request, excuse: Excuse.None, expected: false);
                Sample(request, null);
                continue;
            }

            var e = _events[index];
            var excuse = LostWithLoadBalancer(request, e, firstReadBack[index]);
            var expected = request.IsRead
                ? excuse != Excuse.None
                : request.EndMs <= (e.BackAtMs ?? double.PositiveInfinity) + options.Settle.TotalMilliseconds;
            judged[index].Count(request, excuse, expected);
            if (!expected)
            {
                Sample(request, e);
            }
        }

        void Sample(DrillRequest request, DrillEvent? e)
        {
            if (unexpected.Count < DrillReport.MaxSamples)
            {
                unexpected.Add(new DrillFailureSample(
                    e?.Number,
                    Math.Round(request.StartMs / 1000, 3),
                    e is null ? null : Ms(request.StartMs - e.AtMs),
                    e?.RestoredAtMs is { } restored && request.StartMs >= restored,
                    request.Kind switch { DrillRequestKind.Static => "GET static", DrillRequestKind.Dynamic => "GET dynamic", _ => "POST" },
                    DrillFailures.Name(request.Cause),
                    request.Status));
            }
        }

        var eventReports = _events.Select((e, i) => EventReport(e, i, judged[i])).ToList();
        var all = judged.Append(outside).ToList();
        var totals = new DrillTotals(
            _byStart.Length,
            _byStart.Count(r => r.IsRead),
            _byStart.Count(r => r.Kind == DrillRequestKind.Dynamic),
            _byStart.Count(r => r.Kind == DrillRequestKind.Write),
            all.Aggregate(DrillFailureCounts.Zero, (sum, j) => sum.Plus(j.Reads)),
            all.Aggregate(DrillFailureCounts.Zero, (sum, j) => sum.Plus(j.Writes)),
            all.Sum(j => j.InFlight),
            all.Sum(j => j.VipMoved),
            all.Sum(j => j.UnexpectedReads),
            all.Sum(j => j.UnexpectedWrites));
        var writes = new DrillWrites(
            totals.Writes,
            verification.Acknowledged,
            verification.Complete,
            verification.Present,
            verification.Missing.Count,
            verification.Missing,
            verification.Duplicated,
            verification.Problem);
        var perTier = _recording.Tiers
            .Select(tier => (Tier: tier, Events: eventReports.Where(e => e.Tier == tier).ToList()))
            .Where(t => t.Events.Count > 0)
            .Select(t => new DrillTierReport(
                t.Tier,
                t.Events.Count,
                DrillSpread.Of(t.Events.Select(e => e.UnavailableReadsMs)),
                DrillSpread.Of(t.Events.Select(e => e.UnavailableDynamicReadsMs)),
                DrillSpread.Of(t.Events.Select(e => e.UnavailableWritesMs)),
                t.Events.Sum(e => e.ReadFailures.Total + e.WriteFailures.Total),
                t.Events.Sum(e => e.Unexpected)))
            .ToList();
        return new DrillReport(
            _recording.Topology,
            _recording.Vip,
            options.Seed,
            options.Duration.TotalSeconds,
            _recording.Tiers,
            options.Clients,
            options.RatePerClient,
            options.RequestTimeout.TotalMilliseconds,
            _recording.StartedAt,
            Math.Round(_recording.LoadEndMs / 1000, 1),
            _recording.Interrupted,
            totals,
            writes,
            eventReports,
            perTier,
            unexpected,
            _recording.OtherFailures,
            Verdict(totals, writes, eventReports));
    }

    private DrillVerdict Verdict(DrillTotals totals, DrillWrites writes, IReadOnlyList<DrillEventReport> events)
    {
        var reasons = new List<string>();
        if (!writes.Verified)
        {
            reasons.Add($"the read-back of the acknowledged writes did not finish: {writes.Problem}");
        }
        else if (writes.Missing > 0)
        {
            reasons.Add($"{writes.Missing} acknowledged write(s) lost");
        }

        if (totals.Unexpected > 0)
        {
            reasons.Add($"{totals.Unexpected} unexpected failure(s): {totals.UnexpectedReads} GET(s), {totals.UnexpectedWrites} POST(s)");
        }

        reasons.AddRange(events.Where(e => !e.BackInService).Select(e => $"event #{e.Number}: {e.Node} not back in service: {e.Problem}"));
        if (events.Count == 0)
        {
            reasons.Add("no event happened");
        }

        if (_recording.Interrupted)
        {
            reasons.Add("interrupted before the end");
        }

        return new DrillVerdict(reasons.Count == 0 ? 0 : 1, reasons.Count == 0, reasons);
    }

    private DrillEventReport EventReport(DrillEvent e, int index, Judgement judged)
    {
        var windowEnd = index + 1 < _events.Length ? _events[index + 1].AtMs : Math.Max(_recording.LoadEndMs, e.AtMs);
        return new DrillEventReport(
            e.Number,
            e.Victim.Tier,
            e.Victim.Node,
            e.Victim.Kind,
            Math.Round(e.AtMs / 1000, 3),
            e.HeldVip,
            e.RestoredAtMs is not null,
            e.RestoredAtMs is { } restored ? Ms(restored - e.AtMs) : null,
            e.BackAtMs is not null,
            e.BackAtMs is { } back ? Ms(back - e.AtMs) : null,
            e.Problem,
            Ms(FirstSuccessAfter(e.AtMs, r => r.IsRead) - e.AtMs),
            Ms(FirstSuccessAfter(e.AtMs, r => r.Kind == DrillRequestKind.Dynamic) - e.AtMs),
            Ms(FirstSuccessAfter(e.AtMs, r => r.Kind == DrillRequestKind.Write) - e.AtMs),
            Ms(LongestGap(_readAnswers, e.AtMs, windowEnd)),
            Ms(LongestGap(_dynamicAnswers, e.AtMs, windowEnd)),
            Ms(LongestGap(_writeAnswers, e.AtMs, windowEnd)),
            LowerBound(_ends, windowEnd) - LowerBound(_ends, e.AtMs),
            judged.Reads,
            judged.Writes,
            judged.InFlight,
            judged.VipMoved,
            judged.UnexpectedReads + judged.UnexpectedWrites);
    }

    /// <summary>Why a failed request is excused by the loss of the VIP's holder, if it is.</summary>
    private Excuse LostWithLoadBalancer(DrillRequest request, DrillEvent e, double vipAnsweredAgain)
    {
        if (e.Victim.Tier != DrillTiers.LoadBalancers || !e.HeldVip || !request.IsRead
            || request.Cause is not (FailureCause.Refused or FailureCause.Reset or FailureCause.Timeout))
        {
            return Excuse.None;
        }

        if (request.StartMs < e.AtMs)
        {
            return Excuse.InFlight;
        }

        return request.StartMs < Math.Min(vipAnsweredAgain, e.AtMs + _recording.VipMoveBound.TotalMilliseconds) ? Excuse.VipMoved : Excuse.None;
    }

    /// <summary>The index of the last event at or before <paramref name="ms"/>; -1 before the first.</summary>
    private int EventAt(double ms)
    {
        var index = Array.BinarySearch(_eventTimes, ms);
        return index >= 0 ? LastOfEqual(index) : ~index - 1;

        int LastOfEqual(int i)
        {
            while (i + 1 < _eventTimes.Length && _eventTimes[i + 1] == ms)
            {
                i++;
            }

            return i;
        }
    }

    /// <summary>
    /// When the first successful request of a kind sent at or after <paramref name="ms"/> was answered (the earliest
    /// answer, not the first sent); null when none was.
    /// </summary>
    private double? FirstSuccessAfter(double ms, Func<DrillRequest, bool> kind)
    {
        double? first = null;
        for (var i = LowerBound(_starts, ms); i < _byStart.Length; i++)
        {
            var request = _byStart[i];
            if (first is { } earliest && request.StartMs >= earliest)
            {
                // Sent after the earliest answer so far: it cannot be answered before it.
                break;
            }

            if (request.Succeeded && kind(request) && (first is null || request.EndMs < first))
            {
                first = request.EndMs;
            }
        }

        return first;
    }

    /// <summary>When each successful request of a kind was answered, in order.</summary>
    private double[] Answers(Func<DrillRequest, bool> kind) => [.. _byStart.Where(r => r.Succeeded && kind(r)).Select(r => r.EndMs).Order()];

    /// <summary>
    /// The longest time between two successive successful <paramref name="answers"/>, from the last one before
    /// <paramref name="from"/> (or the load's start) to the last one before <paramref name="to"/>; up to <paramref name="to"/> when
    /// there was none in between.
    /// </summary>
    private static double LongestGap(double[] answers, double from, double to)
    {
        var first = LowerBound(answers, from);
        var end = LowerBound(answers, to);
        var previous = first > 0 ? answers[first - 1] : 0;
        if (first == end)
        {
            return to - previous;
        }

        var longest = 0.0;
        for (var i = first; i < end; i++)
        {
            longest = Math.Max(longest, answers[i] - previous);
            previous = answers[i];
        }

        return longest;
    }

    private static int LowerBound(double[] sorted, double value)
    {
        int low = 0, high = sorted.Length;
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (sorted[middle] < value)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }

    private static double? Ms(double? value) => value is { } v ? Math.Round(v, 1) : null;

    private static double Ms(double value) => Math.Round(value, 1);

    private enum Excuse
    {
        None,
        InFlight,
        VipMoved,
    }

    /// <summary>The failures attributed to one event (or to none), counted as they are judged.</summary>
    private sealed class Judgement
    {
        public DrillFailureCounts Reads { get; private set; } = DrillFailureCounts.Zero;

        public DrillFailureCounts Writes { get; private set; } = DrillFailureCounts.Zero;

        public int InFlight { get; private set; }

        public int VipMoved { get; private set; }

        public int UnexpectedReads { get; private set; }

        public int UnexpectedWrites { get; private set; }

        public void Count(DrillRequest request, Excuse excuse, bool expected)
        {
            if (request.IsRead)
            {
                Reads = Reads.Add(request.Cause);
                UnexpectedReads += expected ? 0 : 1;
            }
            else
            {
                Writes = Writes.Add(request.Cause);
                UnexpectedWrites += expected ? 0 : 1;
            }

            InFlight += excuse == Excuse.InFlight ? 1 : 0;
            VipMoved += excuse == Excuse.VipMoved ? 1 : 0;
        }
    }
}
