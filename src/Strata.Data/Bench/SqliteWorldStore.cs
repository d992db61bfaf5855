using System.Data.Common;
using Strata.Data.Connections;
using Strata.Data.Migrations;

namespace Strata.Data.Bench;

/// <summary>The benchmark tables in the topology's SQLite file, on connections set up as the message store's are.</summary>
internal sealed class SqliteWorldStore(string path) : DbWorldStore
{
    private readonly SqliteConnectionFactory _connections = new(path);

    protected override MigrationEngine Engine => MigrationEngine.Sqlite;

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) => await _connections.OpenAsync(cancellationToken);
}
