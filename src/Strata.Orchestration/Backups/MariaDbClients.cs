using System.ComponentModel;
using System.Globalization;
using MySqlConnector;
using Strata.Data.Managed;
using Strata.Hosting.Processes;
using Strata.Topology;

namespace Strata.Orchestration.Backups;

/// <summary>
/// MariaDB's own client programs (Debian package mariadb-client, which mariadb-server depends on), run over a node's
/// admin socket as the administrator: the user running strata, by unix_socket authentication, as the database node
/// itself connects. <c>--no-defaults</c> first, so no option file of the machine changes what they do.
/// </summary>
internal static class MariaDbClients
{
    /// <summary>The Debian package that provides mariadb-dump and mariadb.</summary>
    public const string Package = "mariadb-client";

    /// <summary>The longest a dump or a load may take (a bound, as for every program strata runs; the guestbook's take a second).</summary>
    public static readonly TimeSpan ProgramTimeout = TimeSpan.FromHours(1);

    /// <summary>
    /// <c>mariadb-dump</c> of the application's schema into <paramref name="resultFile"/>, consistent while writes go on:
    /// <c>--single-transaction</c> reads every table in one InnoDB snapshot (START TRANSACTION WITH CONSISTENT SNAPSHOT),
    /// and <c>--master-data=2 --gtid</c> adds the binary log position and GTID of that same snapshot as comments, which
    /// MariaDB gives without FLUSH TABLES WITH READ LOCK (Binlog_snapshot_file/position): no lock stops writes.
    /// </summary>
    /// <exception cref="BackupException">mariadb-dump failed or is missing; its message.</exception>
    public static Task DumpAsync(string socket, string resultFile, CancellationToken cancellationToken) =>
        RunAsync(
            "mariadb-dump",
            ["mysqldump"],
            [
                .. AdminArguments(socket),
                "--single-transaction", "--gtid", "--master-data=2",
                "--routines", "--triggers", "--events",
                "--databases", ManagedDatabase.DatabaseName,
                $"--result-file={resultFile}",
            ],
            cancellationToken);

    /// <summary>
    /// Replaces the application's schema with <paramref name="dumpFile"/>'s: <c>DROP DATABASE</c>, then the dump's own
    /// statements (it creates the schema, its tables and rows), through the <c>mariadb</c> client, which stops at the
    /// first error (<c>--abort-source-on-error</c>). Binary logging stays on, so every replica replays the same.
    /// </summary>
    /// <exception cref="BackupException">The client failed or is missing; its message.</exception>
    public static Task ReplaceSchemaAsync(string socket, string dumpFile, CancellationToken cancellationToken)
    {
        if (dumpFile.Contains('\n', StringComparison.Ordinal))
        {
            throw new BackupException($"the client's 'source' cannot read a path with a line break: {dumpFile}");
        }

        return RunAsync(
            "mariadb",
            ["mysql"],
            [
                .. AdminArguments(socket), "--batch", "--abort-source-on-error",
                // 'source' is the client's own command: it reads the rest of its line as the path (spaces and all).
                $"--execute=DROP DATABASE IF EXISTS `{ManagedDatabase.DatabaseName}`;\nsource {dumpFile}",
            ],
            cancellationToken);
    }

    /// <summary>A connection to a node's server as the administrator, over its admin socket.</summary>
    public static Task<MySqlConnection> OpenAdminAsync(string socket, CancellationToken cancellationToken) => ManagedDatabaseAccount.OpenAdminAsync(socket, cancellationToken);

    private static string[] AdminArguments(string socket) =>
        ["--no-defaults", $"--socket={socket}", $"--user={Environment.UserName}"];

    private static async Task RunAsync(string program, string[] otherNames, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var path = Programs.Find([program, .. otherNames], "/usr/bin", "/usr/local/bin")
            ?? throw new BackupException($"{program} is not on this machine: install the Debian package {Package} (sudo apt-get install {Package})");
        ProgramResult result;
        try
        {
            result = await Programs.RunAsync(path, arguments, ProgramTimeout, cancellationToken);
        }
        catch (TimeoutException ex)
        {
            throw new BackupException(ex.Message);
        }
        catch (Win32Exception ex)
        {
            throw new BackupException($"could not run {path}: {ex.Message}");
        }

        if (result.ExitCode != 0)
        {
            var message = (result.Error + result.Output).Trim();
            throw new BackupException($"{program} failed (exit code {result.ExitCode.ToString(CultureInfo.InvariantCulture)}): {(message.Length > 0 ? message : "no message")}");
        }
    }
}
