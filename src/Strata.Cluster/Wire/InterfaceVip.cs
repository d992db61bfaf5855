using System.Net;
using Microsoft.Extensions.Logging;
using Strata.Cluster.Election;

namespace Strata.Cluster.Wire;

/// <summary>
/// The VIP as keepalived holds it on a real link: the master adds the address to its interface and announces it
/// with gratuitous ARP (RFC 5798 §6.4.1); a backup removes it. The listener on VIP:port (<paramref name="listener"/>)
/// starts with the first take-over and then stays: without the address nothing reaches it, and a later take-over
/// costs only the address and the ARP.
/// </summary>
public sealed partial class InterfaceVip(IPAddress vip, string interfaceName, IVipListener listener, ILogger<InterfaceVip> logger) : IVipListener
{
    private bool _listening;

    /// <inheritdoc/>
    public bool IsReady => listener.IsReady;

    /// <inheritdoc/>
    public async Task<bool> TryAcquireAsync(CancellationToken cancellationToken)
    {
        await VipAddress.AddAsync(vip, interfaceName, cancellationToken);
        if (!_listening && !(_listening = await listener.TryAcquireAsync(cancellationToken)))
        {
            await VipAddress.RemoveAsync(vip, interfaceName, CancellationToken.None);
            return false;
        }

        // Neighbours that cached the old master's MAC learn ours; not awaited, the take-over is done.
        Announce();
        return true;
    }

    /// <inheritdoc/>
    public void Announce() => _ = AnnounceAsync();

    /// <inheritdoc/>
    public Task ReleaseAsync(CancellationToken cancellationToken) => VipAddress.RemoveAsync(vip, interfaceName, cancellationToken);

    /// <inheritdoc/>
    public async Task<bool> RemoveLeftoverAsync(CancellationToken cancellationToken)
    {
        if (!await VipAddress.IsPresentAsync(vip, interfaceName, cancellationToken))
        {
            return false;
        }

        await VipAddress.RemoveAsync(vip, interfaceName, cancellationToken);
        return true;
    }

    private async Task AnnounceAsync()
    {
        try
        {
            if (!await VipAddress.SendGratuitousArpAsync(vip, interfaceName))
            {
                LogNoArping(vip);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
            LogArpFailed(vip, ex.Message);
        }
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "no gratuitous ARP for {Vip}: arping is not installed (apt-get install iputils-arping); neighbours learn the new MAC on their next ARP request")]
    private partial void LogNoArping(IPAddress vip);

    [LoggerMessage(EventId = 21, Level = LogLevel.Warning, Message = "gratuitous ARP for {Vip} failed: {Reason}")]
    private partial void LogArpFailed(IPAddress vip, string reason);
}
