namespace Strata.Orchestration.Drill;

/// <summary>The drill's one clock: milliseconds since the load began, shared by the client loops and the events.</summary>
internal sealed class DrillClock(TimeProvider time)
{
    private readonly long _origin = time.GetTimestamp();

    /// <summary>The time source the loops wait on.</summary>
    public TimeProvider Time => time;

    /// <summary>Milliseconds since the drill's load began.</summary>
    public double NowMs => time.GetElapsedTime(_origin).TotalMilliseconds;

    /// <summary>Now as the progress lines print it, e.g. " 12.3 s".</summary>
    public string Stamp => FormattableString.Invariant($"{NowMs / 1000,6:0.0} s");
}
