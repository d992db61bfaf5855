namespace Strata.Cluster.Vrrp;

/// <summary>
/// What the state machine asks its host to do, and the changes it reports. Called synchronously from inside
/// <c>VrrpStateMachine</c>'s methods, after its state has changed; an implementation must not call back into
/// the machine (queue the work instead). Each state change is reported once, with a short reason to log.
/// </summary>
internal interface IVrrpOutputs
{
    /// <summary>Send an ADVERTISEMENT with this priority (0 when the master stops, §6.4.3); build it with
    /// <c>VrrpStateMachine.CreateAdvertisement</c>.</summary>
    void SendAdvertisement(byte priority);

    /// <summary>Entered Master (§6.4.3): add the virtual addresses and send gratuitous ARP (§6.4.1, §6.4.2).</summary>
    void BecameMaster(string reason);

    /// <summary>Entered Backup (§6.4.2): remove the virtual addresses if held.</summary>
    void BecameBackup(string reason);

    /// <summary>Returned to Initialize after <c>Shutdown</c> (§6.4.1).</summary>
    void Stopped(string reason);
}
