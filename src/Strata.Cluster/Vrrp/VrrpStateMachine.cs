using System.Globalization;
using System.Net;

namespace Strata.Cluster.Vrrp;

/// <summary>
/// One virtual router's state machine, RFC 5798 §6.4 for IPv4, without sockets or threads of its own.
/// </summary>
/// <remarks>
/// <para><b>Time.</b> The machine keeps its two timers, Master_Down_Timer (Backup) and Adver_Timer (Master), as
/// deadlines on the injected <see cref="TimeProvider"/>'s monotonic clock; it never starts a timer itself.
/// The host drives it from one loop:</para>
/// <code>
/// machine.Start();
/// while (running)
/// {
///     // wait for a packet, at most machine.NextTimeout (null: no timer, wait for a packet or a command)
///     if (packet arrived) { machine.OnAdvertisement(advert, source); }
///     machine.OnTimer(); // fires whatever timer is due; harmless when none is
/// }
/// machine.Shutdown();
/// </code>
/// <para>This keeps the machine deterministic: a test moves a <c>FakeTimeProvider</c> to the exact deadline and
/// calls <see cref="OnTimer"/>, with no callbacks racing on other threads and no clock read late. The machine is
/// not thread-safe: the host calls it from its loop, or under one lock (e.g. for <see cref="SetPriority"/> from a
/// health checker).</para>
/// <para><b>Preempt delay.</b> Not part of RFC 5798; keepalived semantics, kept simple: until
/// <see cref="VrrpOptions.PreemptDelay"/> has passed since <see cref="Start"/>, a Backup treats lower-priority
/// adverts as if preempt were off (they reset Master_Down_Timer); afterwards it discards them (§6.4.2) and takes
/// over when Master_Down_Timer expires. A node that never hears a master still becomes Master after
/// Master_Down_Interval.</para>
/// </remarks>
internal sealed class VrrpStateMachine
{
    private readonly VrrpOptions _options;
    private readonly IVrrpOutputs _outputs;
    private readonly TimeProvider _timeProvider;
    private readonly long _origin;
    private readonly byte _virtualRouterId;
    private readonly int _advertisementIntervalCentiseconds;
    private readonly uint _primaryAddress;

    private int _priority;
    private TimeSpan _masterAdverInterval;
    private TimeSpan? _masterDownDeadline;
    private TimeSpan? _adverDeadline;
    private TimeSpan _preemptAllowedAt;
    // Why Master_Down_Timer was last armed, so the transition it causes can say so.
    private string _masterDownCause = "";

    public VrrpStateMachine(VrrpOptions options, IVrrpOutputs outputs, TimeProvider timeProvider)
    {
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid VRRP options: " + string.Join(" ", errors), nameof(options));
        }

        _options = options;
        _outputs = outputs;
        _timeProvider = timeProvider;
        _origin = timeProvider.GetTimestamp();
        _virtualRouterId = (byte)options.VirtualRouterId;
        VrrpAdvertisement.TryGetCentiseconds(options.AdvertisementInterval, out _advertisementIntervalCentiseconds);
        _primaryAddress = VrrpAdvertisement.ToUInt32(options.PrimaryAddress);
        _priority = options.Priority;
        _masterAdverInterval = options.AdvertisementInterval;
    }

    /// <summary>The current state (§6.4).</summary>
    public VrrpState State { get; private set; } = VrrpState.Initialize;

    /// <summary>The current priority (§6.1), changed by <see cref="SetPriority"/>.</summary>
    public int Priority => _priority;

    /// <summary>Advertisement_Interval (§6.1): how often this router advertises as master.</summary>
    public TimeSpan AdvertisementInterval => _options.AdvertisementInterval;

    /// <summary>Master_Adver_Interval (§6.1): the master's interval, learned from its adverts in Backup.</summary>
    public TimeSpan MasterAdverInterval => _masterAdverInterval;

    /// <summary>Skew_Time (§6.1) for the current priority and <see cref="MasterAdverInterval"/>.</summary>
    public TimeSpan SkewTime => ComputeSkewTime(_priority, _masterAdverInterval);

    /// <summary>Master_Down_Interval (§6.1) for the current priority and <see cref="MasterAdverInterval"/>.</summary>
    public TimeSpan MasterDownInterval => ComputeMasterDownInterval(_priority, _masterAdverInterval);

    /// <summary>
    /// Time until the running timer expires (zero when overdue), or null when none runs (Initialize). The host
    /// waits at most this long before it calls <see cref="OnTimer"/>.
    /// </summary>
    public TimeSpan? NextTimeout
    {
        get
        {
            var deadline = State switch
            {
                VrrpState.Backup => _masterDownDeadline,
                VrrpState.Master => _adverDeadline,
                _ => null,
            };
            if (deadline is not { } value)
            {
                return null;
            }

            var remaining = value - Now;
            return remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero;
        }
    }

    private TimeSpan Now => _timeProvider.GetElapsedTime(_origin);

    /// <summary>Skew_Time = ((256 − Priority) × Master_Adver_Interval) / 256 (§6.1).</summary>
    public static TimeSpan ComputeSkewTime(int priority, TimeSpan masterAdverInterval) =>
        TimeSpan.FromTicks((256 - priority) * masterAdverInterval.Ticks / 256);

    /// <summary>Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time (§6.1).</summary>
    public static TimeSpan ComputeMasterDownInterval(int priority, TimeSpan masterAdverInterval) =>
        (3 * masterAdverInterval) + ComputeSkewTime(priority, masterAdverInterval);

    /// <summary>An advert for this virtual router with <paramref name="priority"/>, this router's interval and
    /// virtual addresses; the host writes it with <see cref="VrrpAdvertisement.Write"/>.</summary>
    public VrrpAdvertisement CreateAdvertisement(byte priority) =>
        new(_virtualRouterId, priority, _advertisementIntervalCentiseconds, _options.VirtualAddresses);

    /// <summary>The Startup event (§6.4.1). Does nothing unless in Initialize.</summary>
    public void Start()
    {
        if (State != VrrpState.Initialize)
        {
            return;
        }

        var now = Now;
        _preemptAllowedAt = now + _options.PreemptDelay;
        if (_priority == VrrpAdvertisement.OwnerPriority)
        {
            // §6.4.1: the address owner goes straight to Master; it would win any election anyway.
            EnterMaster($"address owner (priority {VrrpAdvertisement.OwnerPriority}) at startup");
            return;
        }

        // §6.4.1: Master_Adver_Interval starts as our own interval until a master tells us its own.
        _masterAdverInterval = _options.AdvertisementInterval;
        ArmMasterDownTimer(MasterDownInterval, SilenceCause("since startup"));
        EnterBackup($"startup with priority {_priority}, waiting {Format(MasterDownInterval)} for a master");
    }

    /// <summary>The Shutdown event (§6.4.2, §6.4.3): a master sends priority 0 so a backup takes over after
    /// Skew_Time instead of Master_Down_Interval; then Initialize.</summary>
    public void Shutdown()
    {
        switch (State)
        {
            case VrrpState.Master:
                // §6.4.3: cancel Adver_Timer, send an ADVERTISEMENT with Priority = 0, go to Initialize.
                _adverDeadline = null;
                State = VrrpState.Initialize;
                _outputs.SendAdvertisement(VrrpAdvertisement.StopPriority);
                _outputs.Stopped("shutdown as master (sent priority 0)");
                break;
            case VrrpState.Backup:
                // §6.4.2: cancel Master_Down_Timer, go to Initialize.
                _masterDownDeadline = null;
                State = VrrpState.Initialize;
                _outputs.Stopped("shutdown as backup");
                break;
        }
    }

    /// <summary>
    /// Changes the priority at run time (health tracking). A master advertises the new priority from its next
    /// advert, so a lower one lets a higher-priority backup preempt; a backup uses it for Skew_Time and for
    /// the preempt comparison from the next advert it hears (§6.4.2).
    /// </summary>
    public void SetPriority(int priority)
    {
        if (priority is < 1 or > 255)
        {
            throw new ArgumentOutOfRangeException(nameof(priority), priority, "Priority must be 1–255 (RFC 5798 §6.1).");
        }

        _priority = priority;
    }

    /// <summary>Fires the running timer if it is due (§6.4.2 Master_Down_Timer, §6.4.3 Adver_Timer).</summary>
    public void OnTimer()
    {
        var now = Now;
        switch (State)
        {
            case VrrpState.Backup when _masterDownDeadline is { } deadline && now >= deadline:
                // §6.4.2: Master_Down_Timer fired: send an advert, set Adver_Timer, become Master.
                _masterDownDeadline = null;
                EnterMaster("master down timer expired " + _masterDownCause);
                break;
            case VrrpState.Master when _adverDeadline is { } deadline && now >= deadline:
                // §6.4.3: Adver_Timer fired: send an advert, reset Adver_Timer to Advertisement_Interval.
                SendAdvertisementNow();
                break;
        }
    }

    /// <summary>
    /// An ADVERTISEMENT arrived from <paramref name="source"/> (the IP source address), already parsed and its
    /// checksum and TTL checked (§7.1). Applies §6.4.2 in Backup and §6.4.3 in Master; ignored in Initialize,
    /// for another VRID, and when it is our own advert looped back by multicast.
    /// </summary>
    public void OnAdvertisement(VrrpAdvertisement advertisement, IPAddress source)
    {
        if (advertisement.VirtualRouterId != _virtualRouterId)
        {
            // §7.1: "MUST discard" adverts for a VRID not configured here.
            return;
        }

        var sourceAddress = VrrpAdvertisement.ToUInt32(source);
        if (sourceAddress == _primaryAddress)
        {
            return;
        }

        switch (State)
        {
            case VrrpState.Backup:
                OnAdvertisementInBackup(advertisement, source);
                break;
            case VrrpState.Master:
                OnAdvertisementInMaster(advertisement, source, sourceAddress);
                break;
        }
    }

    /// <summary>
    /// The host knows the master is gone (its process ended and the kernel closed its connection): in Backup, as
    /// a priority-0 advert (§6.4.2), except that when <paramref name="noBackupOutranksUs"/> Skew_Time is skipped.
    /// Skew_Time only lets a higher-priority backup go first; the RFC cannot know there is none, the host can.
    /// </summary>
    public void OnMasterGone(IPAddress master, bool noBackupOutranksUs)
    {
        if (State != VrrpState.Backup)
        {
            return;
        }

        if (!noBackupOutranksUs)
        {
            ArmMasterDownTimer(SkewTime, $"after master {master} was gone (its process ended; skew time {Format(SkewTime)})");
            return;
        }

        _masterDownDeadline = null;
        EnterMaster($"master {master} is gone (its process ended) and no other backup outranks priority {_priority}");
    }

    // §6.4.2, "If an ADVERTISEMENT is received".
    private void OnAdvertisementInBackup(VrrpAdvertisement advertisement, IPAddress source)
    {
        if (advertisement.Priority == VrrpAdvertisement.StopPriority)
        {
            // The master is stopping: take over after Skew_Time, so the highest-priority backup goes first.
            ArmMasterDownTimer(SkewTime, $"after priority 0 from {source} (graceful stop; skew time {Format(SkewTime)})");
            return;
        }

        var preemptDeferred = _options.Preempt && Now < _preemptAllowedAt;
        if (!_options.Preempt || preemptDeferred || advertisement.Priority >= _priority)
        {
            _masterAdverInterval = advertisement.MaxAdvertInterval;
            ArmMasterDownTimer(MasterDownInterval, SilenceCause($"from {source}"));
        }

        // Otherwise discard: a lower-priority master is ignored, so Master_Down_Timer runs out and we preempt.
    }

    // §6.4.3, "If an ADVERTISEMENT is received".
    private void OnAdvertisementInMaster(VrrpAdvertisement advertisement, IPAddress source, uint sourceAddress)
    {
        if (advertisement.Priority == VrrpAdvertisement.StopPriority)
        {
            // Another router thought it was master and is stopping: assert ourselves at once.
            SendAdvertisementNow();
            return;
        }

        string reason;
        if (advertisement.Priority > _priority)
        {
            reason = $"higher priority {advertisement.Priority} from {source}";
        }
        else if (advertisement.Priority == _priority && sourceAddress > _primaryAddress)
        {
            reason = $"equal priority {advertisement.Priority} from greater address {source}";
        }
        else
        {
            SendAdvertisementNow();
            _outputs.CompetingMaster($"priority {advertisement.Priority} from {source} also claims master; ours is {_priority}");
            return;
        }

        // Cancel Adver_Timer, learn the new master's interval, set Master_Down_Timer, become Backup.
        _adverDeadline = null;
        _masterAdverInterval = advertisement.MaxAdvertInterval;
        ArmMasterDownTimer(MasterDownInterval, SilenceCause($"from {source}"));
        State = VrrpState.Backup;
        _outputs.BecameBackup(reason);
    }

    private void EnterMaster(string reason)
    {
        State = VrrpState.Master;
        // RFC order (§6.4.1, §6.4.2): send the advert first, then announce (the host adds the VIP, sends ARP).
        SendAdvertisementNow();
        _outputs.BecameMaster(reason);
    }

    private void EnterBackup(string reason)
    {
        State = VrrpState.Backup;
        _outputs.BecameBackup(reason);
    }

    private void SendAdvertisementNow()
    {
        _adverDeadline = Now + _options.AdvertisementInterval;
        _outputs.SendAdvertisement((byte)_priority);
    }

    private void ArmMasterDownTimer(TimeSpan duration, string cause)
    {
        _masterDownDeadline = Now + duration;
        _masterDownCause = cause;
    }

    // "(no advert from 10.0.0.2 for 3.61× interval 100 ms)": the multiple is Master_Down_Interval / Master_Adver_Interval.
    private string SilenceCause(string from)
    {
        var ratio = (double)MasterDownInterval.Ticks / _masterAdverInterval.Ticks;
        return $"(no advert {from} for {ratio.ToString("0.##", CultureInfo.InvariantCulture)}× interval {Format(_masterAdverInterval)})";
    }

    private static string Format(TimeSpan span) =>
        span.TotalMilliseconds.ToString("0.#", CultureInfo.InvariantCulture) + " ms";
}
