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

    /// <summary>
    /// In Master, an advert with a lower priority: another router also thinks it is master (a healed split
    /// brain). The machine has already sent an advert, which makes it yield; announce the addresses again
    /// (gratuitous ARP), since neighbours may have learned the other router's MAC meanwhile. keepalived does the
    /// same ("forcing new election").
    /// </summary>
    void CompetingMaster(string reason)
    {
    }
}
