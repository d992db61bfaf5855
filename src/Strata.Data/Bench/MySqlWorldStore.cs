using System.Data.Common;
using Strata.Data.Connections;
using Strata.Data.Migrations;
using Strata.Topology;

namespace Strata.Data.Bench;

/// <summary>The benchmark tables on a MySQL or MariaDB server, from MySqlConnector's pool (InnoDB, so the update is one atomic statement).</summary>
internal sealed class MySqlWorldStore(string connectionString, DatabaseSpec? managed = null) : DbWorldStore
{
    private readonly MySqlConnectionFactory _connections = managed is { Managed: true } ? new(managed, connectionString) : new(connectionString);

    protected override MigrationEngine Engine => MigrationEngine.MySql;

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) => await _connections.OpenAsync(cancellationToken);
}
