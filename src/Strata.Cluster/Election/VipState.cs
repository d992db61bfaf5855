namespace Strata.Cluster.Election;

/// <summary>A load balancer's part in the VIP.</summary>
public enum VipState
{
    /// <summary>Another node holds the VIP; this one is ready to take it.</summary>
    Backup,

    /// <summary>This node listens on the VIP.</summary>
    Master,
}

/// <summary>The current <see cref="VipState"/> of this node, for status endpoints.</summary>
public sealed class VipStatus
{
    private volatile int _state;

    /// <summary>The current state.</summary>
    public VipState State
    {
        get => (VipState)_state;
        internal set => _state = (int)value;
    }
}
