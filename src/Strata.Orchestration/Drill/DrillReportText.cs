using System.Globalization;
using System.Text;
using Strata.Orchestration.Status;

namespace Strata.Orchestration.Drill;

/// <summary>The human form of <see cref="DrillReport"/>: a summary, a line per event, a line per tier, the verdict.</summary>
public static class DrillReportText
{
    private const int MissingListed = 50;

    private const int SamplesListed = 10;

    public static string Format(DrillReport report)
    {
        var text = new StringBuilder();
        var requests = report.Requests;
        var writes = report.Writes;
        text.AppendLine(Invariant($"strata drill: seed {report.Seed}, {report.DurationSeconds:0.#} s, tiers {string.Join(", ", report.Tiers)}; {report.Clients} clients at {report.RatePerClient:0.#} requests/s each through {report.Vip}"));
        text.AppendLine(Invariant($"started {report.StartedAt:yyyy-MM-dd HH:mm:ss}Z; load ran {report.LoadSeconds:0.0} s{(report.Interrupted ? " (interrupted)" : "")}; {report.Events.Count} event(s)"));
        text.AppendLine();
        text.AppendLine(Invariant($"requests  {requests.Total}: {requests.Reads} GETs ({requests.DynamicReads} dynamic), {requests.Writes} POSTs"));
        text.AppendLine(Invariant($"failed    {requests.Failed}: GETs {Causes(requests.ReadFailures)}; POSTs {Causes(requests.WriteFailures)}"));
        text.AppendLine(Invariant($"          GETs lost with a killed load balancer: {requests.InFlightOnKilledLoadBalancer} in flight on it, {requests.WhileVipMoved} while the VIP moved"));
        text.AppendLine(Invariant($"          unexpected: {requests.Unexpected} ({requests.UnexpectedReads} GETs, {requests.UnexpectedWrites} POSTs)"));
        text.AppendLine(writes.Verified
            ? Invariant($"writes    {writes.Acknowledged} acknowledged of {writes.Attempted}; read back: {writes.Present} present, {writes.Missing} missing{(writes.Duplicated > 0 ? $", {writes.Duplicated} duplicated" : "")}")
            : Invariant($"writes    {writes.Acknowledged} acknowledged of {writes.Attempted}; read back incomplete: {writes.Problem}"));
        if (writes.MissingWrites.Count > 0)
        {
            text.AppendLine("          missing ids: " + string.Join(", ", writes.MissingWrites.Take(MissingListed).Select(m => m.Id > 0 ? m.Id.ToString(CultureInfo.InvariantCulture) : m.Text))
                + (writes.MissingWrites.Count > MissingListed ? Invariant($" and {writes.MissingWrites.Count - MissingListed} more (the JSON lists all)") : ""));
        }

        foreach (var (description, count) in report.OtherFailures.OrderByDescending(o => o.Value))
        {
            text.AppendLine(Invariant($"          other: {count} × {description}"));
        }

        if (report.Events.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("events (ms; unavailable: from the event to the first success sent after it; gap: the longest between successes)");
            var rows = new List<string[]> { new[] { "#", "AT", "TIER", "NODE", "KIND", "BACK AFTER", "UNAVAILABLE GET/DYN/POST", "GAP GET/DYN/POST", "FAILURES" } };
            rows.AddRange(report.Events.Select(e => new[]
            {
                Invariant($"{e.Number}"),
                Invariant($"{e.AtSeconds:0.0} s"),
                e.Tier,
                e.Node + (e.HeldVip ? " (VIP)" : ""),
                e.Kind,
                e.BackAfterMs is { } back ? Invariant($"{back / 1000:0.0} s") : "NOT BACK",
                $"{Ms(e.UnavailableReadsMs)}/{Ms(e.UnavailableDynamicReadsMs)}/{Ms(e.UnavailableWritesMs)}",
                $"{Ms(e.LongestReadGapMs)}/{Ms(e.LongestDynamicReadGapMs)}/{Ms(e.LongestWriteGapMs)}",
                EventFailures(e),
            }));
            TextTable.Append(text, rows, "  ");
        }

        if (report.PerTier.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("tiers (unavailable ms, max/median over the tier's events)");
            var rows = new List<string[]> { new[] { "TIER", "EVENTS", "GET", "DYNAMIC GET", "POST", "FAILURES", "UNEXPECTED" } };
            rows.AddRange(report.PerTier.Select(t => new[]
            {
                t.Tier,
                Invariant($"{t.Events}"),
                Spread(t.UnavailableReadsMs),
                Spread(t.UnavailableDynamicReadsMs),
                Spread(t.UnavailableWritesMs),
                Invariant($"{t.Failures}"),
                Invariant($"{t.Unexpected}"),
            }));
            TextTable.Append(text, rows, "  ");
        }

        if (report.UnexpectedFailures.Count > 0)
        {
            text.AppendLine();
            text.AppendLine(Invariant($"unexpected failures ({report.Requests.Unexpected}{(report.Requests.Unexpected > SamplesListed ? $"; the first {SamplesListed}, the JSON has up to {DrillReport.MaxSamples}" : "")})"));
            foreach (var failure in report.UnexpectedFailures.Take(SamplesListed))
            {
                var e = failure.Event is { } number ? report.Events.Single(e => e.Number == number) : null;
                text.AppendLine(e is null
                    ? Invariant($"  before any event, sent at {failure.SentAtSeconds:0.000} s: {failure.Request} {failure.Cause}")
                    : Invariant($"  #{e.Number} {e.Kind} {e.Node}, sent {failure.SentAfterEventMs:+0;-0} ms after it{(failure.AfterRestore ? $", after the {(e.Kind == DrillEventKinds.Cut ? "heal" : "restart")}" : "")}: {failure.Request} {failure.Cause}"));
            }
        }

        text.AppendLine();
        text.AppendLine(report.Result.Passed
            ? "result: PASS (exit 0): no acknowledged write lost, no unexpected failure, every victim back in service"
            : $"result: FAIL (exit {report.Result.ExitCode}): {string.Join("; ", report.Result.Reasons)}");
        return text.ToString();
    }

    private static string EventFailures(DrillEventReport e)
    {
        var parts = new List<string>();
        if (e.ReadFailures.Total > 0)
        {
            parts.Add("GET " + Causes(e.ReadFailures));
        }

        if (e.WriteFailures.Total > 0)
        {
            parts.Add("POST " + Causes(e.WriteFailures));
        }

        var excused = new List<string>();
        if (e.InFlightOnKilledLoadBalancer > 0)
        {
            excused.Add(Invariant($"{e.InFlightOnKilledLoadBalancer} in flight on it"));
        }

        if (e.WhileVipMoved > 0)
        {
            excused.Add(Invariant($"{e.WhileVipMoved} while the VIP moved"));
        }

        if (e.Unexpected > 0)
        {
            excused.Add(Invariant($"{e.Unexpected} UNEXPECTED"));
        }

        return parts.Count == 0 ? "-" : string.Join("; ", parts) + (excused.Count > 0 ? $" ({string.Join(", ", excused)})" : "");
    }

    private static string Causes(DrillFailureCounts counts) =>
        counts.Total == 0 ? "none" : string.Join(", ", counts.NonZero().Select(c => Invariant($"{c.Cause} {c.Count}")));

    private static string Spread(DrillSpread spread) =>
        $"{Ms(spread.Max)}/{Ms(spread.Median)}" + (spread.NotRecovered > 0 ? Invariant($" ({spread.NotRecovered} never)") : "");

    private static string Ms(double? ms) => ms is { } value ? value.ToString("0", CultureInfo.InvariantCulture) : "never";

    private static string Invariant(FormattableString text) => FormattableString.Invariant(text);
}
