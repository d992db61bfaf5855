using Strata.Hosting.Processes;

namespace Strata.Database.Server;

/// <summary>
/// The MariaDB programs found on this machine: the server, the tool that creates a data directory, and the client and
/// dump tool a new replica copies its primary with. Debian ships MariaDB as its MySQL (package mariadb-server, which
/// depends on mariadb-client); Oracle's MySQL server initialises differently and is not looked for.
/// </summary>
/// <param name="Server">Absolute path of mariadbd (or MariaDB's mysqld).</param>
/// <param name="InstallDb">Absolute path of mariadb-install-db (or mysql_install_db).</param>
/// <param name="Client">Absolute path of mariadb (or mysql).</param>
/// <param name="Dump">Absolute path of mariadb-dump (or mysqldump).</param>
public sealed record MariaDbInstallation(string Server, string InstallDb, string Client, string Dump)
{
    /// <summary>The Debian package that provides both.</summary>
    public const string Package = "mariadb-server";

    // sbin is not on every user's PATH, and mariadbd lives there.
    private static readonly string[] ExtraDirectories = ["/usr/sbin", "/usr/bin", "/sbin", "/usr/local/sbin", "/usr/local/bin"];

    /// <summary>Finds the programs on PATH and in the sbin directories.</summary>
    /// <exception cref="DatabaseServerException">They are not installed; the message names the package.</exception>
    public static MariaDbInstallation Locate() =>
        Locate([.. Programs.SearchPath, .. ExtraDirectories]);

    /// <summary>Finds the programs in <paramref name="directories"/>.</summary>
    /// <exception cref="DatabaseServerException">They are not there; the message names the package.</exception>
    internal static MariaDbInstallation Locate(IReadOnlyList<string> directories)
    {
        var server = Find(directories, "mariadbd", "mysqld");
        var installDb = Find(directories, "mariadb-install-db", "mysql_install_db");
        var client = Find(directories, "mariadb", "mysql");
        var dump = Find(directories, "mariadb-dump", "mysqldump");
        if (server is null || installDb is null || client is null || dump is null)
        {
            var missing = server is null ? "mariadbd" : installDb is null ? "mariadb-install-db" : client is null ? "mariadb" : "mariadb-dump";
            throw new DatabaseServerException(
                $"no MariaDB server on this machine ({missing} not found on PATH or in /usr/sbin): "
                + $"install the Debian package {Package} (sudo apt-get install {Package}); its service need not run, Strata starts its own server");
        }

        return new MariaDbInstallation(server, installDb, client, dump);
    }

    private static string? Find(IReadOnlyList<string> directories, params string[] names)
    {
        foreach (var name in names)
        {
            foreach (var directory in directories)
            {
                var path = Path.Combine(directory, name);
                if (File.Exists(path))
                {
                    return path;
                }
            }
        }

        return null;
    }
}

/// <summary>The managed database server could not be set up or started; the message says why and what to do.</summary>
public sealed class DatabaseServerException(string message, Exception? inner = null) : Exception(message, inner);
