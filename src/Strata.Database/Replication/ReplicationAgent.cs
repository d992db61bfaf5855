using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MySqlConnector;
using Strata.Data.Managed;
using Strata.Database.Server;
using Strata.Hosting;
using Strata.Hosting.Leases;
using Strata.Topology;

namespace Strata.Database.Replication;

/// <summary>
/// Decides what this database node's server is, five times a second (docs/database.md, "Who is primary"):
/// <list type="bullet">
/// <item>a <b>replica</b> follows the node that says it is primary (copying it first when this server is new); when it
/// cannot follow because it holds transactions the primary never had, it stops and says so (<see cref="Roles.Diverged"/>);</item>
/// <item>when no node has been primary for a second, the most advanced node (ties: the first in database.nodes) asks
/// the voters for the lease and, granted by a majority, applies what it received and takes writes;</item>
/// <item>a <b>primary</b> renews the lease every half second; with a replica its commits wait for the replica's
/// acknowledgement (strict); when none has acknowledged for a second, it tells the voters it writes alone before it
/// stops waiting; it goes back to strict once a replica has caught up. Without a majority's renewal for the lease's
/// time less a margin, it kills its own server and starts it again as a replica (fenced): it never takes a write
/// the new primary does not know of.</item>
/// </list>
/// Written by hand: MaxScale, Orchestrator and replication-manager are separate services with their own state, and
/// none is packaged here; MariaDB does the replication, this only says when.
/// </summary>
internal sealed partial class ReplicationAgent(
    DatabaseSpec database,
    NodeSpec node,
    MariaDbServer server,
    MariaDbReplication replication,
    ClusterPeers peers,
    TimeProvider time,
    ILogger<ReplicationAgent> logger) : BackgroundService, IReadinessCheck
{
    /// <summary>How long a grant lasts unless renewed.</summary>
    public static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(3);

    private static readonly TimeSpan RenewEvery = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan Margin = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan NoPrimaryGrace = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan AloneAfter = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ApplyLimit = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RefollowAfter = TimeSpan.FromSeconds(2);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile DatabaseState _state = new(node.Name, Roles.Starting, null, "", 0, 0, true, null, null, null, "the server is starting");
    private string _role = Roles.Starting;
    private string? _mode;
    private NodeSpec? _following;
    private string? _handingOverTo;
    private string? _reason;
    private long _leaseUntil;
    private long _lastRenew;
    private long? _noPrimarySince;
    private long _followedAt;
    private long? _waitingSince;
    private long _acknowledged;
    private string? _lastRefusal;

    /// <summary>What <c>/db/state</c> says.</summary>
    public DatabaseState State => _state;

    string IReadinessCheck.Name => "replication";

    public Task<ReadinessResult> CheckAsync(CancellationToken cancellationToken) => Task.FromResult(_state switch
    {
        _ when database.Nodes.Length == 1 => new ReadinessResult(true, "the only database node (writable from the start)"),
        { Role: Roles.Primary } s => new ReadinessResult(true, $"primary ({s.Mode})"),
        { Role: Roles.Replica, Following: { } primary } => new ReadinessResult(true, $"replica of {primary}"),
        var s => new ReadinessResult(false, s.Reason ?? s.Role),
    });

    /// <summary>
    /// Hands the primary's role to <paramref name="target"/> with no write lost or failed: writes stop (read-only:
    /// commits under way finish, new ones are refused, and the app nodes try them again on the new primary), the
    /// target catches up, the lease is given back, and the target takes it at once.
    /// </summary>
    /// <returns>Null when handed over, else why not.</returns>
    public async Task<string?> SwitchoverAsync(string target, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_role != Roles.Primary)
            {
                return $"{node.Name} is not the primary ({_role})";
            }

            var states = await peers.StatesAsync(cancellationToken);
            if (states.FirstOrDefault(s => s.Node == target) is not { Role: Roles.Replica } replica || replica.Following != node.Name)
            {
                return $"{target} is not a replica of {node.Name} that answers";
            }

            await replication.StopWritesAsync(cancellationToken);
            var sequence = (await replication.ReadAsync(cancellationToken)).Sequence;
            var deadline = time.GetTimestamp() + (long)(ApplyLimit.TotalSeconds * time.TimestampFrequency);
            while ((await peers.StatesAsync(cancellationToken)).FirstOrDefault(s => s.Node == target) is not { } caught || caught.ReceivedSequence < sequence)
            {
                if (time.GetTimestamp() > deadline)
                {
                    await replication.ResumeWritesAsync(cancellationToken);
                    return $"{target} did not receive {node.Name}'s writes within {ApplyLimit.TotalSeconds:0} s; {node.Name} stays primary";
                }

                await Task.Delay(50, cancellationToken);
            }

            _handingOverTo = target;
            // Released as strict: the target has every write, so no voter keeps this node's mark of writing alone.
            await peers.AskAsync(LeaseVoter.Strict, LeaseDuration, release: true, cancellationToken);
            await replication.SetSemiSyncAsync(false, cancellationToken);
            MarkAlone(false); // the target has every write
            (_role, _mode, _following, _reason) = (Roles.Starting, null, null, $"handing the primary over to {target}");
            LogSwitchover(logger, node.Name, target, sequence);
            Publish(await replication.ReadAsync(cancellationToken));
            return null;
        }
        finally
        {
            _gate.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        string? lastError = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            if (server.IsReady)
            {
                await _gate.WaitAsync(stoppingToken);
                try
                {
                    await TickAsync(stoppingToken);
                    lastError = null;
                }
                catch (Exception ex) when (ex is MySqlException or DatabaseServerException or TimeoutException && !stoppingToken.IsCancellationRequested)
                {
                    if (ex.Message != lastError)
                    {
                        LogTickFailed(logger, node.Name, ex.Message);
                        lastError = ex.Message;
                    }
                }
                finally
                {
                    _gate.Release();
                }
            }

            await Task.Delay(Tick, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task TickAsync(CancellationToken cancellationToken)
    {
        var local = await replication.ReadAsync(cancellationToken);
        if (database.Nodes.Length == 1)
        {
            if (_role != Roles.Primary)
            {
                await replication.PromoteAsync(TimeSpan.Zero, cancellationToken);
                (_role, _mode, _reason) = (Roles.Primary, LeaseVoter.Alone, null);
                LogPromoted(logger, node.Name, "it is the only database node", local.Gtid);
            }
        }
        else if (_role == Roles.Primary)
        {
            await AsPrimaryAsync(local, cancellationToken);
        }
        else if (_role != Roles.Diverged)
        {
            await AsReplicaAsync(local, cancellationToken);
        }

        Publish(await replication.ReadAsync(cancellationToken));
    }

    private async Task AsPrimaryAsync(LocalReplication local, CancellationToken cancellationToken)
    {
        var now = time.GetTimestamp();
        if (local.AcknowledgedCommits != _acknowledged || local.WaitingCommits == 0)
        {
            // A replica acknowledged something since the last look (or nothing waits): it is keeping up.
            (_acknowledged, _waitingSince) = (local.AcknowledgedCommits, null);
        }

        // Commits waiting and no acknowledgement for a second: the replica is gone, whether its connection closed
        // (killed) or went silent (cut off, still counted as connected until TCP gives up).
        if (_mode == LeaseVoter.Strict && local.WaitingCommits > 0)
        {
            _waitingSince ??= now;
            if (time.GetElapsedTime(_waitingSince.Value) >= AloneAfter && await RenewAsync(LeaseVoter.Alone, cancellationToken))
            {
                // The voters know first, and the node's folder: from now on no replica is sure to have every
                // acknowledged write, so a crash recovery here must keep them all.
                MarkAlone(true);
                await replication.SetSemiSyncAsync(false, cancellationToken);
                _mode = LeaseVoter.Alone;
                LogAlone(logger, node.Name, AloneAfter.TotalSeconds);
            }
        }

        if (_mode == LeaseVoter.Alone && local.SemiSyncReplicas > 0
            && (await peers.StatesAsync(cancellationToken)).FirstOrDefault(s => s.Following == node.Name && s.ReceivedSequence >= local.Sequence) is { } replica)
        {
            await replication.SetSemiSyncAsync(true, cancellationToken);
            if ((await replication.ReadAsync(cancellationToken)).SemiSyncOn)
            {
                MarkAlone(false);
                _mode = LeaseVoter.Strict;
                _lastRenew = 0;
                LogStrict(logger, node.Name, replica.Node);
            }
        }

        if (time.GetElapsedTime(_lastRenew) >= RenewEvery)
        {
            await RenewAsync(_mode!, cancellationToken);
        }

        if (time.GetTimestamp() > _leaseUntil)
        {
            LogFenced(logger, node.Name, peers.Majority, peers.Voters, _lastRefusal ?? "no answer");
            (_role, _mode, _following, _reason) = (Roles.Starting, null, null, "fenced: lost the lease; restarting the server as a replica");
            Publish(local with { ReadOnly = true });
            await server.RestartAsync(cancellationToken);
            _reason = null;
        }
    }

    /// <summary>Renews the lease with <paramref name="mode"/>; true when a majority granted it.</summary>
    private async Task<bool> RenewAsync(string mode, CancellationToken cancellationToken)
    {
        var sent = time.GetTimestamp();
        var (granted, refusal) = await peers.AskAsync(mode, LeaseDuration, release: false, cancellationToken);
        _lastRenew = sent;
        if (granted < peers.Majority)
        {
            if (refusal != _lastRefusal)
            {
                LogRenewalShort(logger, node.Name, granted, peers.Voters, refusal ?? "no answer");
            }

            _lastRefusal = refusal;
            return false;
        }

        _lastRefusal = null;
        _leaseUntil = sent + (long)((LeaseDuration - Margin).TotalSeconds * time.TimestampFrequency);
        return true;
    }

    private async Task AsReplicaAsync(LocalReplication local, CancellationToken cancellationToken)
    {
        var states = await peers.StatesAsync(cancellationToken);
        var primaries = states.Where(s => s.Role == Roles.Primary).ToList();
        if (primaries.Count == 1 && database.Nodes.FirstOrDefault(n => n.Name == primaries[0].Node) is { } primary)
        {
            _noPrimarySince = null;
            await FollowAsync(local, primary, primaries[0], cancellationToken);
            return;
        }

        if (primaries.Count > 1)
        {
            return;
        }

        var now = time.GetTimestamp();
        _noPrimarySince ??= now;
        var handedToMe = states.Any(s => s.HandingOverTo == node.Name);
        if (!handedToMe && time.GetElapsedTime(_noPrimarySince.Value) < NoPrimaryGrace)
        {
            return;
        }

        if (!handedToMe && states.Any(s => s.HandingOverTo is not null))
        {
            return; // A switchover to another node is under way.
        }

        // The most advanced node takes over, so nothing a replica received is lost; on a tie, the first listed. A node
        // that wrote alone asks in any case: the voters give the lease to no other, and no other can be ahead of it.
        var mine = Standing(local.ReceivedSequence, node.Name);
        if (!handedToMe && !File.Exists(server.AloneMarker)
            && states.Any(s => s.Role != Roles.Diverged && Standing(s.ReceivedSequence, s.Node).CompareTo(mine) > 0))
        {
            return;
        }

        // Asked as a candidate first: that changes no voter's mark of a node that wrote alone. Granted by a majority,
        // it tells the voters it will write alone before it takes a single write. Refused, it gives back the grants it
        // got, so that a minority it keeps asking cannot block the node that should win (two candidates each holding
        // a voter while the third refuses one of them).
        if (!await RenewAsync(LeaseVoter.Candidate, cancellationToken) || !await RenewAsync(LeaseVoter.Alone, cancellationToken))
        {
            await peers.AskAsync(LeaseVoter.Candidate, LeaseDuration, release: true, cancellationToken);
            _reason = $"no primary; the lease was refused: {_lastRefusal ?? "no majority answered"}";
            return;
        }

        MarkAlone(true);
        await replication.PromoteAsync(ApplyLimit, cancellationToken);
        var reason = handedToMe ? "handed over by a switchover" : $"no node was primary for {time.GetElapsedTime(_noPrimarySince.Value).TotalSeconds:0.0} s and this one is the most advanced";
        (_role, _mode, _following, _reason, _handingOverTo, _noPrimarySince) = (Roles.Primary, LeaseVoter.Alone, null, null, null, null);
        LogPromoted(logger, node.Name, reason, (await replication.ReadAsync(cancellationToken)).Gtid);
    }

    /// <summary>How a candidate ranks: the more it received the better, then the earlier it is in database.nodes.</summary>
    private (long Received, int Earlier) Standing(long received, string name)
    {
        var place = database.Nodes.Length;
        for (var i = 0; i < database.Nodes.Length; i++)
        {
            if (database.Nodes[i].Name == name)
            {
                place = i;
            }
        }

        return (received, -place);
    }

    private async Task FollowAsync(LocalReplication local, NodeSpec primary, DatabaseState primaryState, CancellationToken cancellationToken)
    {
        if (local.ReplicaError == MariaDbReplication.Diverged && _following == primary)
        {
            await replication.StopFollowingAsync(cancellationToken);
            (_role, _reason) = (Roles.Diverged,
                $"holds transactions {primary.Name} never had (here: {local.Gtid}; {primary.Name}: {primaryState.Gtid}); it does not follow it, so that nothing diverges silently: keep its data for inspection and start it afresh (docs/database.md)");
            LogDiverged(logger, node.Name, primary.Name, local.Gtid, primaryState.Gtid);
            return;
        }

        if (_following == primary && (local.Replicating || time.GetElapsedTime(_followedAt) < RefollowAfter))
        {
            // Following (or still connecting): a replica whose threads stopped is started again, at most every 2 s.
            _role = Roles.Replica;
            return;
        }

        if (_following is null && local.Sequence == 0 && primaryState.Sequence > 0)
        {
            _reason = $"copying {primary.Name}";
            Publish(local);
            await replication.CopyFromAsync(primary, server.TempDirectory, cancellationToken);
            LogCopied(logger, node.Name, primary.Name);
        }

        await replication.FollowAsync(primary, cancellationToken);
        _followedAt = time.GetTimestamp();
        if (_following != primary)
        {
            LogFollowing(logger, node.Name, primary.Name, local.Gtid);
        }

        (_role, _following, _reason, _handingOverTo) = (Roles.Replica, primary, null, null);
    }

    /// <summary>Makes (durably, before the first write it covers) or removes <see cref="MariaDbServer.AloneMarker"/>.</summary>
    private void MarkAlone(bool alone)
    {
        if (!alone)
        {
            File.Delete(server.AloneMarker);
            return;
        }

        using var marker = new FileStream(server.AloneMarker, FileMode.Create, FileAccess.Write);
        marker.Write("this server may hold acknowledged writes no other server has: its crash recovery keeps every transaction of its binary log\n"u8);
        marker.Flush(flushToDisk: true);
    }

    private void Publish(LocalReplication local) => _state = new DatabaseState(
        node.Name,
        _role,
        _role == Roles.Primary ? _mode : null,
        local.Gtid,
        local.Sequence,
        local.ReceivedSequence,
        local.ReadOnly,
        _role == Roles.Replica ? _following?.Name : null,
        _role == Roles.Replica ? local.Lag : null,
        _handingOverTo,
        _reason);

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "{Node} is now the primary: {Reason} (position {Gtid}); it writes alone until a replica catches up")]
    private static partial void LogPromoted(ILogger logger, string node, string reason, string gtid);

    [LoggerMessage(EventId = 21, Level = LogLevel.Information, Message = "{Node} follows {Primary} from position {Gtid}")]
    private static partial void LogFollowing(ILogger logger, string node, string primary, string gtid);

    [LoggerMessage(EventId = 22, Level = LogLevel.Information, Message = "{Node} copied {Primary}'s data (mariadb-dump in one transaction, with its GTID position)")]
    private static partial void LogCopied(ILogger logger, string node, string primary);

    [LoggerMessage(EventId = 23, Level = LogLevel.Warning, Message = "{Node} writes alone: no replica acknowledged a commit for {Seconds:0} s (the voters know; no replica may take over until one has caught up)")]
    private static partial void LogAlone(ILogger logger, string node, double seconds);

    [LoggerMessage(EventId = 24, Level = LogLevel.Information, Message = "{Node} waits for {Replica}'s acknowledgement of every commit again (semi-sync, AFTER_SYNC)")]
    private static partial void LogStrict(ILogger logger, string node, string replica);

    [LoggerMessage(EventId = 25, Level = LogLevel.Error, Message = "{Node} lost the primary's lease (a majority is {Majority} of {Voters} voters; {Refusal}): fenced, its server restarts as a replica")]
    private static partial void LogFenced(ILogger logger, string node, int majority, int voters, string refusal);

    [LoggerMessage(EventId = 26, Level = LogLevel.Warning, Message = "{Node}: the lease was granted by {Granted} of {Voters} voters: {Refusal}")]
    private static partial void LogRenewalShort(ILogger logger, string node, int granted, int voters, string refusal);

    [LoggerMessage(EventId = 27, Level = LogLevel.Error, Message = "{Node} refuses to follow {Primary}: it holds transactions {Primary} never had (here {Gtid}; there {PrimaryGtid}); its data is kept, and it stays out until started afresh")]
    private static partial void LogDiverged(ILogger logger, string node, string primary, string gtid, string primaryGtid);

    [LoggerMessage(EventId = 28, Level = LogLevel.Information, Message = "{Node} handed the primary over to {Target} at sequence {Sequence}")]
    private static partial void LogSwitchover(ILogger logger, string node, string target, long sequence);

    [LoggerMessage(EventId = 29, Level = LogLevel.Warning, Message = "{Node}: replication step failed: {Message}")]
    private static partial void LogTickFailed(ILogger logger, string node, string message);
}
