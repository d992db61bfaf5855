using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.Orchestration.Drill;

namespace Strata.Tests.Orchestration.Drill;

/// <summary>
/// The drill's judgement of what it recorded (<see cref="DrillReport.Build"/>): which failures are excused by which event,
/// the time without service, the verdict, and the report's JSON and text.
/// </summary>
public sealed class DrillReportTests
{
    private const double End = 10_000;

    [Fact]
    public void Build_GetsLostWithTheVipHolder_InFlightAndWhileTheVipMovedExcusedLaterOneUnexpected()
    {
        var kill = Event(1, "lb", "lb-1", at: 1000, heldVip: true, back: 4000);
        var report = Build(
            [
                .. Steady(0, 1000),
                Failed(995, 1001, FailureCause.Reset), // in flight when lb-1 died
                Failed(1003, 1004, FailureCause.Refused), // nobody on the VIP yet
                Get(1010, 1200), // the VIP answers again
                Failed(1300, 1301, FailureCause.Refused), // after it answered: no excuse
                .. Steady(1400, End),
            ],
            [kill]);

        Assert.Equal(1, report.Requests.InFlightOnKilledLoadBalancer);
        Assert.Equal(1, report.Requests.WhileVipMoved);
        Assert.Equal(1, report.Requests.UnexpectedReads);
        Assert.Equal(new DrillFailureCounts(2, 1, 0, 0, 0, 0, 0), report.Requests.ReadFailures);
        var e = Assert.Single(report.Events);
        Assert.Equal(200, e.UnavailableReadsMs);
        Assert.Equal((1, 1, 1), (e.InFlightOnKilledLoadBalancer, e.WhileVipMoved, e.Unexpected));
        Assert.Equal(1, report.Result.ExitCode);
        Assert.Contains("1 unexpected failure(s): 1 GET(s), 0 POST(s)", report.Result.Reasons);
        Assert.Equal([new DrillFailureSample(1, 1.3, 300, AfterRestore: false, "GET static", "refused", 0)], report.UnexpectedFailures);
    }

    [Fact]
    public void Build_UnexpectedFailuresAfterTheRestart_ListedWithTheirEventInTheText()
    {
        // The VIP moving back to the restarted load balancer (preemption) breaks connections to the one that held it meanwhile.
        var report = Build(
            [.. Steady(0, End), Failed(3200, 3201, FailureCause.Reset, DrillRequestKind.Dynamic), Failed(400, 401, FailureCause.Http502)],
            [Event(1, "lb", "lb-1", at: 1000, heldVip: true, back: 4000)]);

        Assert.Equal(
            [new DrillFailureSample(null, 0.4, null, false, "GET static", "502", 0), new DrillFailureSample(1, 3.2, 2200, AfterRestore: true, "GET dynamic", "reset", 0)],
            report.UnexpectedFailures);
        var text = DrillReportText.Format(report);
        Assert.Contains(
            string.Join(Environment.NewLine, "unexpected failures (2)", "  before any event, sent at 0.400 s: GET static 502", "  #1 kill lb-1, sent +2200 ms after it, after the restart: GET dynamic reset"),
            text);
    }

    [Fact]
    public void Build_RefusedLongAfterTheVipHolderDied_UnexpectedEvenBeforeAnySuccess()
    {
        // The VIP must answer within VRRP's master-down interval and a second (1.3 s here): later refusals are not excused.
        var report = Build(
            [.. Steady(0, 1000), Failed(1100, 1101, FailureCause.Refused), Failed(2400, 2401, FailureCause.Refused), Get(2500, 2510), .. Steady(2600, End)],
            [Event(1, "lb", "lb-1", at: 1000, heldVip: true, back: 4000)]);

        Assert.Equal((1, 1), (report.Requests.WhileVipMoved, report.Requests.UnexpectedReads));
    }

    [Fact]
    public void Build_GetFailsWhenTheBackupLoadBalancerIsKilled_Unexpected()
    {
        var report = Build([.. Steady(0, 1000), Failed(999, 1001, FailureCause.Reset), .. Steady(1000, End)], [Event(1, "lb", "lb-2", at: 1000, heldVip: false, back: 4000)]);

        Assert.Equal((0, 0, 1), (report.Requests.InFlightOnKilledLoadBalancer, report.Requests.WhileVipMoved, report.Requests.UnexpectedReads));
    }

    [Fact]
    public void Build_DatabaseKilled_Get503UnexpectedPost503ExcusedUntilBackAndSettled()
    {
        // Back at 5 s, and the drill's settling time is 1 s: a write failing at 6.5 s has no event to excuse it.
        var report = Build(
            [
                .. Steady(0, End),
                Failed(2000, 2001, FailureCause.Http503),
                Failed(2000, 2002, FailureCause.Http503, DrillRequestKind.Write),
                Failed(5900, 5901, FailureCause.Http503, DrillRequestKind.Write),
                Failed(6500, 6501, FailureCause.Http503, DrillRequestKind.Write),
            ],
            [Event(1, "db", "db-1", at: 1000, back: 5000)]);

        Assert.Equal(1, report.Requests.UnexpectedReads);
        Assert.Equal(1, report.Requests.UnexpectedWrites);
        Assert.Equal(new DrillFailureCounts(0, 0, 0, 0, 3, 0, 0), report.Requests.WriteFailures);
        var tier = Assert.Single(report.PerTier);
        Assert.Equal(("db", 1, 4, 2), (tier.Tier, tier.Events, tier.Failures, tier.Unexpected));
    }

    [Fact]
    public void Build_WriteFailsBeforeTheFirstEvent_Unexpected()
    {
        var report = Build([.. Steady(0, End), Failed(500, 501, FailureCause.Http502, DrillRequestKind.Write)], [Event(1, "web", "web-1", at: 1000, back: 3000)]);

        Assert.Equal(1, report.Requests.UnexpectedWrites);
        Assert.Equal(0, report.Events[0].Unexpected);
        Assert.Equal(1, report.Result.ExitCode);
    }

    [Fact]
    public void Build_UnavailableTime_EarliestAnswerToARequestSentAfterTheEvent()
    {
        // Answered after the event but sent before it: not a sign of service. Of those sent after, the earliest answer counts.
        var report = Build(
            [
                Get(900, 1050),
                Get(1010, 1500),
                Get(1020, 1100),
                Post(1000, 1700),
                Post(1600, 1650),
                new DrillRequest(1001, 1020, DrillRequestKind.Dynamic, FailureCause.Http503, 503),
                new DrillRequest(1200, 1400, DrillRequestKind.Dynamic, FailureCause.None, 200),
            ],
            [Event(1, "app", "app-1", at: 1000, back: 3000)],
            loadEnd: 2000);

        var e = report.Events[0];
        Assert.Equal(100, e.UnavailableReadsMs);
        Assert.Equal(400, e.UnavailableDynamicReadsMs);
        Assert.Equal(650, e.UnavailableWritesMs);
    }

    [Fact]
    public void Build_NoSuccessAfterTheEvent_UnavailableNullGapToTheLoadsEnd()
    {
        var report = Build([Post(100, 200), Failed(1500, 1501, FailureCause.Http503, DrillRequestKind.Write)], [Event(1, "db", "db-1", at: 1000, back: null)], loadEnd: 3000);

        var e = report.Events[0];
        Assert.Null(e.UnavailableWritesMs);
        Assert.Equal(2800, e.LongestWriteGapMs);
        Assert.Equal(1, report.PerTier[0].UnavailableWritesMs.NotRecovered);
        Assert.Contains("event #1: db-1 not back in service: not up", report.Result.Reasons);
    }

    [Fact]
    public void Build_LongestGap_GapsEndingFromTheEventToTheNext()
    {
        // Successes at 900, 1500, 1600 and 3200: the first event has the gaps 600 and 100; the gap across the second one is its own.
        var report = Build(
            [Get(800, 900), Get(1400, 1500), Get(1550, 1600), Get(3100, 3200)],
            [Event(1, "web", "web-1", at: 1000, back: 2000), Event(2, "web", "web-2", at: 3000, back: 4000)],
            loadEnd: 5000);

        Assert.Equal(600, report.Events[0].LongestReadGapMs);
        Assert.Equal(1600, report.Events[1].LongestReadGapMs);
    }

    [Fact]
    public void Build_AcknowledgedWritesMissing_Exit1ListingThem()
    {
        var missing = new AcknowledgedWrite(42, "drill-1-abc-7");
        var report = Build([.. Steady(0, End)], [Event(1, "db", "db-1", at: 1000, back: 3000)], new DrillVerification(10, 9, [missing], 0, Complete: true));

        Assert.Equal((10, 9, 1), (report.Writes.Acknowledged, report.Writes.Present, report.Writes.Missing));
        Assert.Equal([missing], report.Writes.MissingWrites);
        Assert.Equal(1, report.Result.ExitCode);
        Assert.Equal(["1 acknowledged write(s) lost"], report.Result.Reasons);
    }

    [Fact]
    public void Build_ReadBackIncomplete_Exit1()
    {
        var report = Build([.. Steady(0, End)], [Event(1, "web", "web-1", at: 1000, back: 3000)], new DrillVerification(10, 3, [], 0, Complete: false, "not read back within 60 s"));

        Assert.False(report.Writes.Verified);
        Assert.Equal(["the read-back of the acknowledged writes did not finish: not read back within 60 s"], report.Result.Reasons);
    }

    [Fact]
    public void Build_EveryFailureExcusedNothingLost_Exit0()
    {
        var report = Build(
            [.. Steady(0, End), Failed(999, 1001, FailureCause.Reset), Failed(1500, 1510, FailureCause.Http502, DrillRequestKind.Write)],
            [Event(1, "lb", "lb-1", at: 1000, heldVip: true, back: 3000), Event(2, "app", "app-1", at: 1400, back: 3000)],
            new DrillVerification(5, 5, [], 0, Complete: true));

        Assert.True(report.Result.Passed, string.Join("; ", report.Result.Reasons));
        Assert.Equal(0, report.Result.ExitCode);
        Assert.Equal(2, report.Requests.Failed);
    }

    [Fact]
    public void Spread_MaxMedianAndEventsNeverRecovered()
    {
        Assert.Equal(new DrillSpread(30, 20, 0), DrillSpread.Of([10, 30, 20]));
        Assert.Equal(new DrillSpread(40, 25, 1), DrillSpread.Of([10, null, 40, 20, 30]));
        Assert.Equal(new DrillSpread(null, null, 2), DrillSpread.Of([null, null]));
    }

    [Fact]
    public void Json_CamelCaseFieldsAsDocumented()
    {
        var report = Build(
            [.. Steady(0, End), Failed(999, 1001, FailureCause.Reset)],
            [Event(1, "lb", "lb-1", at: 1000, heldVip: true, back: 3000)],
            new DrillVerification(3, 2, [new AcknowledgedWrite(7, "drill-1-abc-2")], 0, Complete: true));

        var json = JsonNode.Parse(JsonSerializer.Serialize(report, DrillJsonContext.Default.DrillReport))!;

        Assert.Equal(1, json["seed"]!.GetValue<int>());
        Assert.Equal(1, json["requests"]!["inFlightOnKilledLoadBalancer"]!.GetValue<int>());
        Assert.Equal(1, json["requests"]!["readFailures"]!["reset"]!.GetValue<int>());
        Assert.Equal(1, json["requests"]!["readFailures"]!["total"]!.GetValue<int>());
        Assert.Equal(7, json["writes"]!["missingWrites"]![0]!["id"]!.GetValue<long>());
        Assert.Equal("drill-1-abc-2", json["writes"]!["missingWrites"]![0]!["text"]!.GetValue<string>());
        var e = json["events"]![0]!;
        Assert.Equal("lb-1", e["node"]!.GetValue<string>());
        Assert.True(e["heldVip"]!.GetValue<bool>());
        Assert.True(e["backInService"]!.GetValue<bool>());
        Assert.Equal(2000, e["backAfterMs"]!.GetValue<double>());
        Assert.NotNull(e["unavailableReadsMs"]);
        Assert.Equal("lb", json["perTier"]![0]!["tier"]!.GetValue<string>());
        Assert.Equal(1, json["result"]!["exitCode"]!.GetValue<int>());
    }

    [Fact]
    public void Text_SummaryEventTableTiersAndVerdict()
    {
        var report = Build(
            [.. Steady(0, End), Failed(999, 1001, FailureCause.Reset)],
            [Event(1, "lb", "lb-1", at: 1000, heldVip: true, back: 3000)],
            new DrillVerification(3, 3, [], 0, Complete: true));

        var lines = DrillReportText.Format(report).Split(Environment.NewLine);

        Assert.Equal("strata drill: seed 1, 10 s, tiers lb, web, app, db; 8 clients at 25 requests/s each through 127.0.0.100:8080", lines[0]);
        Assert.Contains("failed    1: GETs reset 1; POSTs none", lines);
        Assert.Contains("          GETs lost with a killed load balancer: 1 in flight on it, 0 while the VIP moved", lines);
        Assert.Contains("writes    3 acknowledged of 20; read back: 3 present, 0 missing", lines);
        Assert.Contains(lines, l => l.StartsWith("  #  AT     TIER  NODE        KIND  BACK AFTER", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("  1  1.0 s  lb    lb-1 (VIP)  kill  2.0 s", StringComparison.Ordinal) && l.EndsWith("GET reset 1 (1 in flight on it)", StringComparison.Ordinal));
        Assert.Contains("result: PASS (exit 0): no acknowledged write lost, no unexpected failure, every victim back in service", lines);
    }

    private static DrillReport Build(IEnumerable<DrillRequest> requests, IEnumerable<DrillEvent> events, DrillVerification? verification = null, double loadEnd = End) =>
        DrillReport.Build(new DrillRecording
        {
            Options = new DrillOptions { Seed = 1, Duration = TimeSpan.FromSeconds(10) },
            Tiers = ["lb", "web", "app", "db"],
            Topology = "/x/strata.json",
            Vip = "127.0.0.100:8080",
            StartedAt = new DateTimeOffset(2026, 12, 5, 10, 0, 0, TimeSpan.Zero),
            LoadEndMs = loadEnd,
            Requests = [.. requests],
            Events = [.. events],
            Verification = verification ?? new DrillVerification(0, 0, [], 0, Complete: true),
            VipMoveBound = TimeSpan.FromMilliseconds(1300),
        });

    private static DrillEvent Event(int number, string tier, string node, double at, double? back, bool heldVip = false) =>
        new(number, new DrillVictim(tier, node, DrillEventKinds.Kill), at, heldVip, back is null ? null : at + 500, back, back is null ? "not up" : null);

    /// <summary>A successful GET every 50 ms and a successful POST every 500 ms, each answered in 2 ms.</summary>
    private static IEnumerable<DrillRequest> Steady(double from, double to)
    {
        for (var t = from; t < to; t += 50)
        {
            yield return (t - from) % 500 == 0 ? Post(t, t + 2) : Get(t, t + 2);
        }
    }

    private static DrillRequest Get(double start, double end) => new(start, end, DrillRequestKind.Static, FailureCause.None, 200);

    private static DrillRequest Post(double start, double end) => new(start, end, DrillRequestKind.Write, FailureCause.None, 201);

    private static DrillRequest Failed(double start, double end, FailureCause cause, DrillRequestKind kind = DrillRequestKind.Static) => new(start, end, kind, cause);
}
