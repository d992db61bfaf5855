namespace Strata.Cluster.Vrrp;

/// <summary>The states of a VRRP router (RFC 5798 §6.4).</summary>
public enum VrrpState
{
    /// <summary>Not started or shut down; waits for a Startup event (RFC 5798 §6.4.1).</summary>
    Initialize,

    /// <summary>Watches the master's adverts and takes over when they stop (RFC 5798 §6.4.2).</summary>
    Backup,

    /// <summary>Owns the virtual addresses and advertises every interval (RFC 5798 §6.4.3).</summary>
    Master,
}
