using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Strata.Cluster.Peers;
using Strata.Cluster.Vrrp;
using Strata.Topology;

namespace Strata.Cluster.Election;

/// <summary>
/// The VIP agent of one load balancer: a VRRPv3 state machine (RFC 5798) whose advertisements travel as UDP
/// datagrams between the load balancers' own addresses (loopback: no root, no raw sockets), a
/// <see cref="PeerWatch"/> that turns a dead peer's closed connection into an immediate takeover, health tracking
/// (priority minus the track weight while this node cannot serve), and the VIP listener it starts as master and
/// stops as backup. Everything that touches the state machine runs on one loop, as the machine requires.
/// </summary>
public sealed partial class VrrpElection : BackgroundService, IVrrpOutputs
{
    private static readonly TimeSpan IdleWake = TimeSpan.FromMilliseconds(50);

    /// <summary>How long a new master may take to start its VIP listener after its first advert.</summary>
    private static readonly TimeSpan ListenerStartAllowance = TimeSpan.FromMilliseconds(250);

    private readonly string _nodeName;
    private readonly int _basePriority;
    private readonly VrrpSpec _spec;
    private readonly IPEndPoint _local;
    private readonly IReadOnlyList<IPEndPoint> _peers;
    private readonly IReadOnlyList<NodeSpec> _peerNodes;
    private readonly IPEndPoint _vip;
    private readonly IVipListener _listener;
    private readonly VipStatus _status;
    private readonly Func<string?> _cannotServe;
    private readonly TimeProvider _time;
    private readonly ILogger<VrrpElection> _logger;
    private readonly VrrpStateMachine _machine;
    private readonly ConcurrentQueue<Action> _work = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly IPeerExchange? _exchange;
    private IVrrpTransport? _transport;
    private IPAddress? _masterAddress;
    private bool _wantVip;
    private bool _reportedBindFailure;
    private long _lastPeerMasterAdvert;
    private long _backupSince;
    private SocketError? _sendFailure;
    private long? _announceAt;

    /// <summary>An agent for <paramref name="node"/> among <paramref name="peers"/> (the other load balancers).</summary>
    public VrrpElection(
        NodeSpec node,
        IEnumerable<NodeSpec> peers,
        VrrpSpec spec,
        IPEndPoint vip,
        IVipListener listener,
        VipStatus status,
        Func<string?> cannotServe,
        TimeProvider time,
        ILogger<VrrpElection> logger,
        IPeerExchange? exchange = null)
    {
        _exchange = exchange;
        _nodeName = node.Name;
        _basePriority = node.Priority;
        _spec = spec;
        _local = new IPEndPoint(node.Address.Address, spec.Port);
        _peerNodes = [.. peers.Where(p => p.Name != node.Name)];
        _peers = [.. _peerNodes.Select(p => new IPEndPoint(p.Address.Address, spec.Port))];
        _vip = vip;
        _listener = listener;
        _status = status;
        _cannotServe = cannotServe;
        _time = time;
        _logger = logger;
        _status.Priority = node.Priority;
        _machine = new VrrpStateMachine(
            new VrrpOptions
            {
                VirtualRouterId = spec.RouterId,
                Priority = node.Priority,
                PrimaryAddress = node.Address.Address,
                VirtualAddresses = [vip.Address],
                AdvertisementInterval = spec.AdvertInterval,
                Preempt = spec.Preempt,
                PreemptDelay = spec.PreemptDelay,
            },
            this,
            time);
    }

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _transport = OpenTransport();
        if (await _listener.RemoveLeftoverAsync(stoppingToken))
        {
            LogLeftoverRemoved(_nodeName, _vip.Address, _spec.Interface ?? "loopback");
        }

        await using var peerWatch = new PeerWatch(_local, _peers, peer => Post(() => OnPeerLost(peer)), _logger, _exchange);
        peerWatch.Start();
        var receiving = ReceiveLoopAsync(_transport, stoppingToken);
        _wantVip = _spec.ActiveActive;
        _machine.Start();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                while (_work.TryDequeue(out var work))
                {
                    work();
                }

                TrackHealth();
                _machine.OnTimer();
                await SyncVipAsync(stoppingToken);
                var wait = _machine.NextTimeout is { } next && next < IdleWake ? next : IdleWake;
                await _wake.WaitAsync(wait < TimeSpan.Zero ? TimeSpan.Zero : wait, stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            // Graceful stop: a master sends priority 0 so a backup takes over after its skew time, not 3 intervals,
            // and keeps listening until the new master has had time to listen too (the listeners share the port).
            var wasMaster = _machine.State == VrrpState.Master;
            var stoppedAt = _time.GetTimestamp();
            _machine.Shutdown();
            if (wasMaster && _peers.Count > 0)
            {
                await WaitForSuccessorAsync(stoppedAt);
            }

            await ReleaseVipAsync();
            _transport.Dispose();
            await receiving;
        }
    }

    /// <summary>Waits until a peer advertises as master (then a little longer, for its listener), or until it would have taken over by the timers.</summary>
    private async Task WaitForSuccessorAsync(long stoppedAt)
    {
        var limit = _machine.MasterDownInterval;
        while (_time.GetElapsedTime(stoppedAt) < limit)
        {
            if (Volatile.Read(ref _lastPeerMasterAdvert) > stoppedAt)
            {
                await Task.Delay(ListenerStartAllowance, _time);
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(5), _time);
        }
    }

    /// <inheritdoc/>
    public override void Dispose()
    {
        _wake.Dispose();
        _transport?.Dispose();
        base.Dispose();
    }

    void IVrrpOutputs.SendAdvertisement(byte priority)
    {
        try
        {
            _transport?.Send(_machine.CreateAdvertisement(priority));
            if (_sendFailure is not null && _status.HoldsVip)
            {
                // The link is back: neighbours may have learned another master's MAC meanwhile. But this node may
                // only have been master on its side of the cut: announcing at once would draw the clients to it for
                // the moment until it hears the real master and yields, and their connections would be reset then.
                // So it announces once a master-down interval has passed with it still master (a higher-priority
                // master heard meanwhile makes it a backup, or, if it is the higher one, CompetingMaster announces).
                _announceAt = _time.GetTimestamp() + (long)(_machine.MasterDownInterval.TotalSeconds * _time.TimestampFrequency);
            }
            else if (_announceAt is { } due && _time.GetTimestamp() >= due)
            {
                _announceAt = null;
                if (_status.HoldsVip)
                {
                    _listener.Announce();
                }
            }

            _sendFailure = null;
        }
        catch (SocketException ex)
        {
            // A link that is down ("network is unreachable"): the node goes on, and sends again next interval.
            if (_sendFailure != ex.SocketErrorCode)
            {
                _sendFailure = ex.SocketErrorCode;
                LogSendFailed(_nodeName, ex.Message);
            }
        }
    }

    void IVrrpOutputs.CompetingMaster(string reason)
    {
        LogCompetingMaster(_nodeName, reason);
        if (_status.HoldsVip)
        {
            _announceAt = null;
            _listener.Announce();
        }
    }

    void IVrrpOutputs.BecameMaster(string reason)
    {
        _status.Enter(VipState.Master);
        _wantVip = true;
        LogMaster(_nodeName, _vip, _machine.Priority, reason);
        Notify("MASTER");
    }

    void IVrrpOutputs.BecameBackup(string reason)
    {
        _announceAt = null;
        if (_status.State == VipState.Master && _spec.Interface is not null)
        {
            // Yielding to a master that never stopped (a healed split brain, a link back up): while both were
            // master, neighbours may have learned our MAC for the VIP. One advert at our own priority tells the
            // winner it had a rival, and it announces the VIP again (CompetingMaster); keepalived reacts alike.
            ((IVrrpOutputs)this).SendAdvertisement((byte)_machine.Priority);
        }

        _status.Enter(VipState.Backup);
        // Active-active: every node keeps listening; VRRP only says who is master.
        _wantVip = _spec.ActiveActive;
        _backupSince = _time.GetTimestamp();
        LogBackup(_nodeName, _vip, _machine.Priority, reason);
        Notify("BACKUP");
    }

    void IVrrpOutputs.Stopped(string reason)
    {
        _status.Enter(VipState.Initialize);
        _wantVip = false;
        LogStopped(_nodeName, reason);
        Notify("STOPPED");
    }

    /// <summary>keepalived's notify: the configured program gets STATE NODE VIP PRIORITY; it runs on its own.</summary>
    private void Notify(string state)
    {
        if (_spec.NotifyCommand is not { } command)
        {
            return;
        }

        try
        {
            var start = new System.Diagnostics.ProcessStartInfo(command) { UseShellExecute = false };
            foreach (var argument in (string[])[state, _nodeName, _vip.ToString(), _machine.Priority.ToString(System.Globalization.CultureInfo.InvariantCulture)])
            {
                start.ArgumentList.Add(argument);
            }

            System.Diagnostics.Process.Start(start)?.Dispose();
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or IOException)
        {
            LogNotifyFailed(command, ex.Message);
        }
    }

    /// <summary>
    /// Loopback: UDP between the load balancers' addresses. On an interface (real hosts, --netns): IP protocol 112
    /// multicast on the link, as keepalived speaks it, so any router of the same VRID takes part.
    /// </summary>
    private IVrrpTransport OpenTransport() => _spec.Interface is { } iface
        ? Wire.RawVrrpSocket.Open(iface, _local.Address)
        : new UdpVrrpTransport(_local, _peers, source => LogForeignAdvert(_nodeName, source));

    private void Post(Action work)
    {
        _work.Enqueue(work);
        _wake.Release();
    }

    private async Task ReceiveLoopAsync(IVrrpTransport transport, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            VrrpAdvertisement advertisement;
            IPAddress source;
            try
            {
                (advertisement, source) = await transport.ReceiveAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (stoppingToken.IsCancellationRequested || ex is ObjectDisposedException)
                {
                    return;
                }

                continue;
            }

            var fromMaster = advertisement.Priority != VrrpAdvertisement.StopPriority && advertisement.VirtualRouterId == _spec.RouterId;
            if (fromMaster)
            {
                // Read by a stopping master, whose loop no longer runs: it waits for its successor's adverts.
                Volatile.Write(ref _lastPeerMasterAdvert, _time.GetTimestamp());
            }

            Post(() =>
            {
                if (fromMaster)
                {
                    _masterAddress = source;
                }

                _machine.OnAdvertisement(advertisement, source);
            });
        }
    }

    /// <summary>Adverts dropped: invalid, or (loopback) from an address that is not a configured load balancer.</summary>
    public long DroppedAdvertisements => _transport?.Dropped ?? 0;

    /// <summary>The master's process ended (its connection closed): take over, at once if no other backup could outrank us.</summary>
    private void OnPeerLost(IPAddress peer)
    {
        if (_machine.State == VrrpState.Backup && peer.Equals(_masterAddress))
        {
            _masterAddress = null;
            // The other load balancers' configured priorities bound what they can advertise; ties go to the
            // greater address (§6.4.3). A router outside the topology (keepalived) still wins by its adverts.
            var outranked = _peerNodes.Any(p => !p.Address.Address.Equals(peer)
                && (p.Priority > _machine.Priority || (p.Priority == _machine.Priority && VrrpAdvertisement.ToUInt32(p.Address.Address) > VrrpAdvertisement.ToUInt32(_local.Address))));
            _machine.OnMasterGone(peer, noBackupOutranksUs: !outranked);
        }
    }

    /// <summary>keepalived's track_script: while this node cannot serve, it advertises a lower priority.</summary>
    private void TrackHealth()
    {
        var reason = _cannotServe();
        var priority = reason is null ? _basePriority : Math.Max(1, _basePriority - _spec.TrackWeight);
        if (priority != _machine.Priority)
        {
            _machine.SetPriority(priority);
            _status.Priority = priority;
            LogPriority(_nodeName, priority, reason is null ? "can serve again" : "cannot serve: " + reason);
        }
    }

    private async Task SyncVipAsync(CancellationToken cancellationToken)
    {
        if (_wantVip && !_status.HoldsVip && _listener.IsReady)
        {
            if (await _listener.TryAcquireAsync(cancellationToken))
            {
                _status.HoldsVip = true;
                _reportedBindFailure = false;
                LogListening(_nodeName, _vip);
            }
            else if (!_reportedBindFailure)
            {
                // Another process still has it (an old master not yet gone): try again on every pass.
                _reportedBindFailure = true;
                LogVipBusy(_nodeName, _vip);
            }
        }
        else if (!_wantVip && _status.HoldsVip && _time.GetElapsedTime(_backupSince) >= ListenerStartAllowance)
        {
            // Preempted: the new master listens on the shared port within the allowance; until then both serve.
            await ReleaseVipAsync();
        }
    }

    private async Task ReleaseVipAsync()
    {
        if (_status.HoldsVip)
        {
            _status.HoldsVip = false;
            await _listener.ReleaseAsync(CancellationToken.None);
            LogReleased(_nodeName, _vip);
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Node} MASTER for VIP {Vip} (priority {Priority}): {Reason}")]
    private partial void LogMaster(string node, IPEndPoint vip, int priority, string reason);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "{Node} BACKUP for VIP {Vip} (priority {Priority}): {Reason}")]
    private partial void LogBackup(string node, IPEndPoint vip, int priority, string reason);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "{Node} left the VRRP group: {Reason}")]
    private partial void LogStopped(string node, string reason);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "{Node} priority now {Priority}: {Reason}")]
    private partial void LogPriority(string node, int priority, string reason);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "{Node} listening on VIP {Vip}")]
    private partial void LogListening(string node, IPEndPoint vip);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "{Node} is master but VIP {Vip} is still held by another process; retrying")]
    private partial void LogVipBusy(string node, IPEndPoint vip);

    [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "{Node} dropped a VRRP advertisement from {Source}, which is not a load balancer of the topology (logged once; counted after)")]
    private partial void LogForeignAdvert(string node, IPAddress source);

    [LoggerMessage(EventId = 9, Level = LogLevel.Warning, Message = "notify command {Command} could not run: {Reason}")]
    private partial void LogNotifyFailed(string command, string reason);

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "{Node} removed VIP {Vip} left on {Interface} by an earlier run (crashed or killed)")]
    private partial void LogLeftoverRemoved(string node, IPAddress vip, string @interface);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "{Node} cannot send VRRP advertisements: {Reason} (logged once until they go out again)")]
    private partial void LogSendFailed(string node, string reason);

    [LoggerMessage(EventId = 12, Level = LogLevel.Warning, Message = "{Node} stays MASTER and announces the VIP again: {Reason}")]
    private partial void LogCompetingMaster(string node, string reason);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "{Node} released VIP {Vip}")]
    private partial void LogReleased(string node, IPEndPoint vip);
}
