namespace Strata.Cluster.Election;

/// <summary>A load balancer's part in the VIP.</summary>
public enum VipState
{
    /// <summary>Not (or no longer) taking part: starting or stopping.</summary>
    Initialize,

    /// <summary>Another node holds the VIP; this one is ready to take it.</summary>
    Backup,

    /// <summary>This node holds the VIP.</summary>
    Master,
}

/// <summary>This node's current <see cref="VipState"/> and VRRP priority, for status endpoints.</summary>
public sealed class VipStatus
{
    private volatile int _state;
    private volatile int _priority;

    /// <summary>The current state.</summary>
    public VipState State
    {
        get => (VipState)_state;
        internal set => _state = (int)value;
    }

    /// <summary>The priority this node advertises now (lowered while it cannot serve).</summary>
    public int Priority
    {
        get => _priority;
        internal set => _priority = value;
    }

    /// <summary>Whether this node's listener is on the VIP now.</summary>
    public bool HoldsVip { get; internal set; }

    private long _toMaster;
    private long _toBackup;

    /// <summary>How many times this node became master since it started.</summary>
    public long BecameMasterCount => Interlocked.Read(ref _toMaster);

    /// <summary>How many times this node became backup since it started.</summary>
    public long BecameBackupCount => Interlocked.Read(ref _toBackup);

    internal void Enter(VipState state)
    {
        State = state;
        if (state == VipState.Master)
        {
            Interlocked.Increment(ref _toMaster);
        }
        else if (state == VipState.Backup)
        {
            Interlocked.Increment(ref _toBackup);
        }
    }
}
