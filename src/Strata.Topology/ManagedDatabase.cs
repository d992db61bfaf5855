using System.Net;

namespace Strata.Topology;

/// <summary>
/// The MySQL/MariaDB server Strata runs itself (<c>"engine": "mysql", "managed": true</c>, or <c>strata up --db
/// mysql</c>): its node's defaults, its folder under the run folder, and the account the app nodes use. One place,
/// so the validator, the command-line override, the database node and the app nodes agree.
/// </summary>
public static class ManagedDatabase
{
    /// <summary>The first node's name when the file names none (the next ones are db-2, db-3…).</summary>
    public const string DefaultName = "db-1";

    /// <summary>How many nodes a managed database has when the file lists none: a primary and a replica.</summary>
    public const int DefaultNodeCount = 2;

    /// <summary>The most nodes a managed database may have (the --netns layout's block: .90-.98).</summary>
    public const int MaxNodes = 9;

    /// <summary>Where the first server listens when the file says nothing: its own loopback address, MySQL's port.</summary>
    public static readonly IPEndPoint DefaultAddress = IPEndPoint.Parse("127.0.4.1:3306");

    /// <summary>Where the first node's /healthz and /readyz answer when the file says nothing.</summary>
    public static readonly IPEndPoint DefaultManagement = IPEndPoint.Parse("127.0.4.1:8081");

    /// <summary>The schema the application's tables live in.</summary>
    public const string DatabaseName = "foobar";

    /// <summary>The account the app nodes connect with (over TCP; root only ever over the server's own socket).</summary>
    public const string UserName = "strata";

    /// <summary>The file in <see cref="DatabaseSpec.Path"/> holding <see cref="UserName"/>'s password (created by the first database node to start, mode 0600).</summary>
    public const string PasswordFileName = "password";

    /// <summary>The account replicas connect to the primary with (and copy it with, when a new replica starts).</summary>
    public const string ReplicationUserName = "strata_repl";

    /// <summary>The file in <see cref="DatabaseSpec.Path"/> holding <see cref="ReplicationUserName"/>'s password.</summary>
    public const string ReplicationPasswordFileName = "replication-password";

    /// <summary>sun_path holds 108 bytes; a longer socket path goes to the temporary folder.</summary>
    private const int MaxSocketPath = 100;

    /// <summary>The <paramref name="index"/>th default node (0-based): db-N on 127.0.4.N, MySQL's port, management 8081.</summary>
    public static NodeSpec DefaultNode(int index)
    {
        var address = new IPAddress([127, 0, 4, checked((byte)(index + 1))]);
        return new NodeSpec($"db-{index + 1}", NodeRole.Database, new IPEndPoint(address, DefaultAddress.Port), new IPEndPoint(address, DefaultManagement.Port));
    }

    /// <summary>What the database nodes share (the accounts' password files): <c>.strata/database</c> beside the topology file.</summary>
    public static string SharedFolder(string topologyPath) => Path.Combine(RunFolder(topologyPath), "database");

    /// <summary>A node's own folder (its data directory, socket, temporary files): <c>.strata/NODE</c> beside the topology file.</summary>
    public static string NodeFolder(DatabaseSpec database, string nodeName) =>
        Path.Combine(Path.GetDirectoryName(database.Path) ?? ".", nodeName);

    /// <summary>
    /// The Unix socket of a node's server, where the node (and <c>strata backup</c>) connects as the administrator:
    /// in its folder, or, when that path would not fit in sun_path, in the temporary folder under a name derived from it.
    /// </summary>
    public static string SocketPath(string nodeFolder)
    {
        var path = Path.Combine(nodeFolder, "mariadbd.sock");
        if (System.Text.Encoding.UTF8.GetByteCount(path) <= MaxSocketPath)
        {
            return path;
        }

        var hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(path)))[..12].ToLowerInvariant();
        return Path.Combine(Path.GetTempPath(), $"strata-{hash}.sock");
    }

    /// <summary>
    /// Who votes on the primary's lease (docs/database.md, "Who is primary"): every database node and the first
    /// (database nodes − 1) app nodes. The app nodes alone are never a majority, so the database nodes together
    /// always are (they elect the first primary before any app node runs), and with two database nodes the first app
    /// node breaks the tie when they lose each other.
    /// </summary>
    public static IReadOnlyList<NodeSpec> Voters(Topology topology) =>
        [.. topology.Database.Nodes, .. topology.AllAppNodes.Take(Math.Max(0, topology.Database.Nodes.Length - 1))];

    /// <summary>The database choice for managed servers run as <paramref name="nodes"/>.</summary>
    public static DatabaseSpec Spec(string topologyPath, IEnumerable<NodeSpec> nodes) =>
        new("mysql", SharedFolder(topologyPath), ConnectionString: null, [.. nodes]);

    private static string RunFolder(string topologyPath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(topologyPath)) ?? ".", ".strata");

    /// <summary>
    /// <paramref name="topology"/> with the database <c>--db ENGINE</c> asks for, whatever the file says: "mysql" is
    /// managed servers (the file's nodes when it already asks for them, else
    /// <see cref="DefaultNodeCount"/> nodes at the default addresses), "sqlite" the embedded engine (the file's path when it already uses SQLite). The choice is kept in
    /// <see cref="Topology.DatabaseChoice"/> so that a reload of the file makes it again.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="engine"/> is neither.</exception>
    public static Topology Choose(Topology topology, string engine)
    {
        var database = engine switch
        {
            "mysql" when topology.Database.Managed => topology.Database,
            "mysql" => Spec(topology.SourcePath, Enumerable.Range(0, DefaultNodeCount).Select(DefaultNode)),
            "sqlite" when topology.Database.Engine == "sqlite" => topology.Database,
            "sqlite" => new DatabaseSpec("sqlite", Path.Combine(Path.GetDirectoryName(Path.GetFullPath(topology.SourcePath)) ?? ".", ".strata", "foobar.db")),
            _ => throw new ArgumentException($"'{engine}' is not a database engine; the engines are: sqlite, mysql", nameof(engine)),
        };
        return topology with { Database = database, DatabaseChoice = engine };
    }
}
