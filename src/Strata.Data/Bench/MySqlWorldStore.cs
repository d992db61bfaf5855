using System.Data.Common;
using MySqlConnector;
using Strata.Data.Connections;
using Strata.Data.Migrations;
using Strata.Topology;

namespace Strata.Data.Bench;

/// <summary>The benchmark tables on a MySQL or MariaDB server, from MySqlConnector's pool.</summary>
internal sealed class MySqlWorldStore(string connectionString, DatabaseSpec? managed = null) : DbWorldStore
{
    /// <summary>One row's update, the statement the updates test expects per row on MySQL.</summary>
    internal const string UpdateWorld = "UPDATE World SET randomNumber = @r WHERE id = @i;";

    private readonly MySqlConnectionFactory _connections = managed is { Managed: true } ? new(managed, connectionString) : new(connectionString);

    protected override MigrationEngine Engine => MigrationEngine.MySql;

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) => await _connections.OpenAsync(cancellationToken);

    /// <summary>
    /// One single-row UPDATE per row, sent together in one round trip (a <see cref="MySqlBatch"/>, as the fastest .NET
    /// entries of the benchmark do): TechEmpower's verifier counts the statements MySQL executed and fails a bulk
    /// <c>UPDATE ... CASE</c>. Each statement commits on its own (autocommit): the test's rules allow a transaction
    /// only around one row's read and write, never around several rows; and row locks held one statement at a time
    /// cannot deadlock against another request updating the same rows in another order.
    /// </summary>
    protected override async Task UpdateAsync(DbConnection connection, World[] worlds, CancellationToken cancellationToken)
    {
        await using var batch = new MySqlBatch((MySqlConnection)connection);
        foreach (var world in worlds)
        {
            batch.BatchCommands.Add(new MySqlBatchCommand(UpdateWorld)
            {
                Parameters =
                {
                    new MySqlParameter("@r", MySqlDbType.Int32) { Value = world.RandomNumber },
                    new MySqlParameter("@i", MySqlDbType.Int32) { Value = world.Id },
                },
            });
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
    }
}
