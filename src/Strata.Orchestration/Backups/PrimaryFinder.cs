using MySqlConnector;
using Strata.Topology;

namespace Strata.Orchestration.Backups;

/// <summary>
/// Which node of the managed database is the primary now. Failover moves it, so it is asked, not configured: the primary
/// is the running node whose server answers <c>SELECT @@read_only</c> with 0 over its admin socket (replicas run
/// read-only). Every running node is asked at once; exactly one must be writable.
/// </summary>
internal static class PrimaryFinder
{
    /// <summary>How long a node's server may take to answer.</summary>
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Asks every node of <paramref name="database"/> named in <paramref name="running"/> (the others are down).</summary>
    public static async Task<PrimarySearch> FindAsync(DatabaseSpec database, IReadOnlySet<string> running, CancellationToken cancellationToken)
    {
        var nodes = await Task.WhenAll(database.Nodes.Select(node =>
        {
            var socket = ManagedDatabase.SocketPath(ManagedDatabase.NodeFolder(database, node.Name));
            return running.Contains(node.Name)
                ? AskAsync(node, socket, cancellationToken)
                : Task.FromResult(new DatabaseNodeAnswer(node, socket, Running: false, ReadOnly: null, ServerVersion: null, Problem: "is down"));
        }));
        return new PrimarySearch(nodes);
    }

    private static async Task<DatabaseNodeAnswer> AskAsync(NodeSpec node, string socket, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(AnswerTimeout);
        try
        {
            await using var connection = await MariaDbClients.OpenAdminAsync(socket, timeout.Token);
            await using var command = new MySqlCommand("SELECT @@read_only, VERSION();", connection);
            await using var reader = await command.ExecuteReaderAsync(timeout.Token);
            await reader.ReadAsync(timeout.Token);
            return new DatabaseNodeAnswer(node, socket, Running: true, ReadOnly: reader.GetInt32(0) != 0, reader.GetString(1), Problem: null);
        }
        catch (Exception ex) when (ex is MySqlException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            var why = ex is OperationCanceledException ? $"no answer within {AnswerTimeout.TotalSeconds:0} s" : ex.Message;
            return new DatabaseNodeAnswer(node, socket, Running: true, ReadOnly: null, ServerVersion: null, Problem: $"does not answer on {socket}: {why}");
        }
    }
}

/// <summary>A database node as its server answered.</summary>
/// <param name="Node">The node.</param>
/// <param name="Socket">Its server's admin socket.</param>
/// <param name="Running">Whether its process runs.</param>
/// <param name="ReadOnly">Its server's <c>@@read_only</c> (true on a replica), or null when it did not answer.</param>
/// <param name="ServerVersion">Its server's version, or null.</param>
/// <param name="Problem">Why it did not answer, or null.</param>
internal sealed record DatabaseNodeAnswer(NodeSpec Node, string Socket, bool Running, bool? ReadOnly, string? ServerVersion, string? Problem)
{
    /// <summary>How the node is, for a message: "db-2 is read-only (a replica)".</summary>
    public string Describe() => ReadOnly switch
    {
        true => $"{Node.Name} is read-only (a replica)",
        false => $"{Node.Name} accepts writes",
        null => $"{Node.Name} {Problem}",
    };
}

/// <summary>Every database node's answer, and the primary among them when there is exactly one.</summary>
/// <param name="Nodes">Each node of the topology's database, in its order.</param>
internal sealed record PrimarySearch(IReadOnlyList<DatabaseNodeAnswer> Nodes)
{
    /// <summary>The nodes that accept writes.</summary>
    public IReadOnlyList<DatabaseNodeAnswer> Writable => [.. Nodes.Where(n => n.ReadOnly == false)];

    /// <summary>The one node that accepts writes, or null (see <see cref="Problem"/>).</summary>
    public DatabaseNodeAnswer? Primary => Writable is [var primary] ? primary : null;

    /// <summary>The running nodes that are read-only: the replicas.</summary>
    public IReadOnlyList<DatabaseNodeAnswer> Replicas => [.. Nodes.Where(n => n.ReadOnly == true)];

    /// <summary>Why there is no primary, or null when there is one.</summary>
    public string? Problem => Writable switch
    {
        [_] => null,
        [] when Nodes.All(n => !n.Running) =>
            $"no database node is running ({string.Join(", ", Nodes.Select(n => n.Node.Name))}: down): 'strata start {Nodes[0].Node.Name}' starts one",
        [] => $"no primary: no running database node accepts writes ({string.Join("; ", Nodes.Select(n => n.Describe()))})",
        _ => $"no single primary: {string.Join(" and ", Writable.Select(n => n.Node.Name))} accept writes (read_only=0); " +
            "a backup or a restore of one of them could miss or lose the others' writes",
    };
}
