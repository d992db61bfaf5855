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

        if (database?.Node is not null)
        {
            Error("database.node", "describes the server Strata runs; set \"managed\": true to run one");
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
            Error("database.path", $"is for SQLite; a managed server keeps its data in .strata/{database.Node?.Name ?? ManagedDatabase.DefaultName}/");
        }

        var node = database.Node ?? new NodeOptions();
        if (node.Weight is not null || node.Priority is not null)
        {
            Error("database.node", "takes only name, address and management");
        }

        var name = NodeName(node.Name ?? ManagedDatabase.DefaultName, "database.node.name");
        var address = Endpoint(node.Address ?? ManagedDatabase.DefaultAddress.ToString(), "database.node.address", owner: name ?? "database.node");
        var management = Endpoint(node.Management ?? ManagedDatabase.DefaultManagement.ToString(), "database.node.management", owner: $"{name ?? "database.node"} management");
        // The address speaks MySQL, the management address HTTP: Endpoint refuses the two being one.
        return name is null || address is null || management is null
            ? null
            : ManagedDatabase.Spec(_sourcePath, new NodeSpec(name, NodeRole.Database, address, management));
    }
}
