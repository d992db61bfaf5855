using System.Net;

namespace Strata.Topology;

/// <summary>
/// The MySQL/MariaDB server Strata runs itself (<c>"engine": "mysql", "managed": true</c>, or <c>strata up --db
/// mysql</c>): its node's defaults, its folder under the run folder, and the account the app nodes use. One place,
/// so the validator, the command-line override, the database node and the app nodes agree.
/// </summary>
public static class ManagedDatabase
{
    /// <summary>The node's name when the file names none.</summary>
    public const string DefaultName = "db-1";

    /// <summary>Where the server listens when the file says nothing: its own loopback address, MySQL's port.</summary>
    public static readonly IPEndPoint DefaultAddress = IPEndPoint.Parse("127.0.4.1:3306");

    /// <summary>Where the node's /healthz and /readyz answer when the file says nothing.</summary>
    public static readonly IPEndPoint DefaultManagement = IPEndPoint.Parse("127.0.4.1:8081");

    /// <summary>The schema the application's tables live in.</summary>
    public const string DatabaseName = "foobar";

    /// <summary>The account the app nodes connect with (over TCP; root only ever over the server's own socket).</summary>
    public const string UserName = "strata";

    /// <summary>The file in <see cref="DatabaseSpec.Path"/> holding <see cref="UserName"/>'s password (created by the database node, mode 0600).</summary>
    public const string PasswordFileName = "password";

    /// <summary>The server's folder: <c>.strata/NODE</c> beside the topology file.</summary>
    public static string Folder(string topologyPath, string nodeName) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(topologyPath)) ?? ".", ".strata", nodeName);

    /// <summary>The database choice for a managed server run as <paramref name="server"/>.</summary>
    public static DatabaseSpec Spec(string topologyPath, NodeSpec server) =>
        new("mysql", Folder(topologyPath, server.Name), ConnectionString: null, server);

    /// <summary>
    /// <paramref name="topology"/> with the database <c>--db ENGINE</c> asks for, whatever the file says: "mysql" is
    /// a managed server (the file's node when it already asks for one, else <see cref="DefaultName"/> at the default
    /// addresses), "sqlite" the embedded engine (the file's path when it already uses SQLite). The choice is kept in
    /// <see cref="Topology.DatabaseChoice"/> so that a reload of the file makes it again.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="engine"/> is neither.</exception>
    public static Topology Choose(Topology topology, string engine)
    {
        var database = engine switch
        {
            "mysql" when topology.Database.Managed => topology.Database,
            "mysql" => Spec(topology.SourcePath, new NodeSpec(DefaultName, NodeRole.Database, DefaultAddress, DefaultManagement)),
            "sqlite" when topology.Database.Engine == "sqlite" => topology.Database,
            "sqlite" => new DatabaseSpec("sqlite", Path.Combine(Path.GetDirectoryName(Path.GetFullPath(topology.SourcePath)) ?? ".", ".strata", "foobar.db")),
            _ => throw new ArgumentException($"'{engine}' is not a database engine; the engines are: sqlite, mysql", nameof(engine)),
        };
        return topology with { Database = database, DatabaseChoice = engine };
    }
}
