namespace Strata.Topology;

/// <summary>The checks of the database section.</summary>
internal sealed partial class TopologyValidator
{
    private DatabaseSpec? Database(DatabaseOptions? database)
    {
        var engine = database?.Engine ?? "sqlite";
        if (engine is not ("sqlite" or "mysql"))
        {
            Error("database.engine", $"'{engine}' is not supported; the engines are: sqlite, mysql");
            return null;
        }

        if (database?.Managed == true)
        {
            return ManagedDatabaseServer(database, engine);
        }

        if (database?.Node is not null || database?.Nodes is not null)
        {
            Error(database.Node is not null ? "database.node" : "database.nodes", "describes the servers Strata runs; set \"managed\": true to run them");
        }

        var path = database?.Path ?? Path.Combine(".strata", "foobar.db");
        if (string.IsNullOrWhiteSpace(path))
        {
            Error("database.path", "must name the SQLite file");
            return null;
        }

        string? connectionString = null;
        if (engine == "mysql")
        {
            // Only the shape: the topology does not know MySqlConnector, whose builder reports a bad value clearly.
            connectionString = database?.ConnectionString;
            if (string.IsNullOrWhiteSpace(connectionString))
            {
                Error("database.connectionString", "is required when the engine is mysql and not managed (e.g. \"Server=127.0.0.1;Database=foobar;User ID=strata;Password=...\")");
                return null;
            }

            if (!connectionString.Contains('='))
            {
                Error("database.connectionString", "must be a list of key=value pairs separated by ';' (e.g. \"Server=127.0.0.1;Database=foobar\")");
                return null;
            }
        }

        return new DatabaseSpec(engine, Path.GetFullPath(Path.Combine(_baseDirectory, path)), connectionString);
    }

    private DatabaseSpec? ManagedDatabaseServer(DatabaseOptions database, string engine)
    {
        if (engine != "mysql")
        {
            Error("database.managed", "needs \"engine\": \"mysql\" (Strata runs a MySQL or MariaDB server; SQLite is embedded)");
            return null;
        }

        if (database.ConnectionString is not null)
        {
            Error("database.connectionString", "is Strata's own for a managed server; leave it out (or set \"managed\": false to use your server)");
        }

        if (database.Path is not null)
        {
            Error("database.path", "is for SQLite; a managed server keeps its data in .strata/NODE/ (e.g. .strata/db-1/)");
        }

        if (database.Node is not null && database.Nodes is not null)
        {
            Error("database.node", "is the one-node form of database.nodes; give one of them");
        }

        List<(NodeOptions? Node, string Field)> written = database.Nodes is { } list
            ? [.. list.Select((n, i) => (n, $"database.nodes[{i}]"))]
            : database.Node is { } one
                ? [(one, "database.node")]
                : [.. Enumerable.Range(0, ManagedDatabase.DefaultNodeCount).Select(i => ((NodeOptions?)new NodeOptions(), $"database.nodes[{i}]"))];
        if (written.Count is 0 or > ManagedDatabase.MaxNodes)
        {
            Error("database.nodes", $"must list 1 to {ManagedDatabase.MaxNodes} nodes (a primary and its replicas)");
            return null;
        }

        var nodes = new List<NodeSpec>();
        for (var i = 0; i < written.Count; i++)
        {
            var (node, field) = written[i];
            if (node is null)
            {
                Error(field, "must be an object with name, address and management");
                continue;
            }

            if (node.Weight is not null || node.Priority is not null)
            {
                Error(field, "takes only name, address and management");
            }

            var defaults = ManagedDatabase.DefaultNode(i);
            var name = NodeName(node.Name ?? defaults.Name, $"{field}.name");
            var address = Endpoint(node.Address ?? defaults.Address.ToString(), $"{field}.address", owner: name ?? field);
            var management = Endpoint(node.Management ?? defaults.Management.ToString(), $"{field}.management", owner: $"{name ?? field} management");
            // The address speaks MySQL, the management address HTTP: Endpoint refuses the two being one.
            if (name is not null && address is not null && management is not null)
            {
                nodes.Add(new NodeSpec(name, NodeRole.Database, address, management));
            }
        }

        return nodes.Count == written.Count ? ManagedDatabase.Spec(_sourcePath, nodes) : null;
    }
}
