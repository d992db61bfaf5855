using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Strata.Cluster.Election;

/// <summary>
/// The skeleton's election: the VIP's listening socket is the lock. Only one process can listen on an
/// address:port, so the node that binds it is master; the others retry every <see cref="RetryInterval"/>.
/// When the master's process dies the kernel closes its socket at once and a backup binds it on its next try,
/// with no messages between the nodes and no help from the orchestrator. This holds for processes on one host
/// (the loopback VIP); the VRRPv3 election replaces it for the VIP that moves between hosts.
/// </summary>
public sealed partial class BindLockElection(
    string nodeName,
    IPEndPoint vip,
    IVipListener listener,
    VipStatus status,
    TimeProvider timeProvider,
    ILogger<BindLockElection> logger) : BackgroundService
{
    /// <summary>How often a backup tries to take the VIP.</summary>
    public static readonly TimeSpan RetryInterval = TimeSpan.FromMilliseconds(200);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(RetryInterval, timeProvider);
        var announcedBackup = false;
        do
        {
            if (await listener.TryAcquireAsync(stoppingToken))
            {
                status.State = VipState.Master;
                LogMaster(nodeName, vip);
                return;
            }

            if (!announcedBackup)
            {
                announcedBackup = true;
                LogBackup(nodeName, vip);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (status.State == VipState.Master)
        {
            await listener.ReleaseAsync(cancellationToken);
            status.State = VipState.Backup;
            LogReleased(nodeName, vip);
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Node} BACKUP for VIP {Vip}: another node holds it")]
    private partial void LogBackup(string node, IPEndPoint vip);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "{Node} MASTER for VIP {Vip}: listening on it")]
    private partial void LogMaster(string node, IPEndPoint vip);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "{Node} released VIP {Vip}: stopping")]
    private partial void LogReleased(string node, IPEndPoint vip);
}
