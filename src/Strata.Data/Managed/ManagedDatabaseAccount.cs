using System.Security.Cryptography;
using System.Text;
using MySqlConnector;
using Strata.Topology;

namespace Strata.Data.Managed;

/// <summary>
/// The account the app nodes use on the server Strata runs (<see cref="ManagedDatabase"/>): its password lives in a
/// file in the server's folder, created once by the database node (mode 0600) and read by the app nodes. On several
/// hosts that file must be copied to the app nodes, as the data-protection key ring is (docs/database.md).
/// </summary>
public static class ManagedDatabaseAccount
{
    /// <summary>The password file of <paramref name="database"/>'s application account (or of another, by its file name).</summary>
    public static string PasswordFile(DatabaseSpec database, string fileName = ManagedDatabase.PasswordFileName) => Path.Combine(database.Path, fileName);

    /// <summary>
    /// The password of the application account (or of another account, by its file name:
    /// <see cref="ManagedDatabase.ReplicationPasswordFileName"/>), creating the file with a random one the first time.
    /// </summary>
    public static string CreateOrReadPassword(DatabaseSpec database, string fileName = ManagedDatabase.PasswordFileName)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("the password file needs Unix file modes");
        }

        var path = PasswordFile(database, fileName);
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(database.Path);
            var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
            try
            {
                // Created 0600 from the start, so the password is never readable by others, not even for a moment.
                using var file = new FileStream(path, new FileStreamOptions
                {
                    Mode = FileMode.CreateNew,
                    Access = FileAccess.Write,
                    UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                });
                file.Write(Encoding.ASCII.GetBytes(password + "\n"));
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another start made it first: use that one.
            }
        }

        return ReadPassword(database, fileName);
    }

    /// <summary>The connection string of the application's account on <paramref name="database"/>'s server.</summary>
    /// <exception cref="InvalidOperationException">The password file is missing: the database node has not started yet.</exception>
    public static string ConnectionString(DatabaseSpec database)
    {
        var server = database.Managed ? database.Nodes[0] : throw new ArgumentException("the database is not managed", nameof(database));
        return new MySqlConnectionStringBuilder
        {
            Server = server.Address.Address.ToString(),
            Port = (uint)server.Address.Port,
            Database = ManagedDatabase.DatabaseName,
            UserID = ManagedDatabase.UserName,
            Password = ReadPassword(database),
        }.ConnectionString;
    }

    /// <summary>
    /// The bearer token the database nodes present to the voters on the primary's lease (<c>POST /lease/database</c>):
    /// derived from the application account's password, which every database and app node already has, so no
    /// other secret needs copying; the password itself never goes over the wire.
    /// </summary>
    public static string LeaseToken(DatabaseSpec database) =>
        Convert.ToHexString(HMACSHA256.HashData(Encoding.UTF8.GetBytes(ReadPassword(database)), "strata database lease"u8)).ToLowerInvariant();

    /// <summary>
    /// A connection to a managed node's server as its administrator — whoever runs Strata, over the server's Unix
    /// socket (<see cref="ManagedDatabase.SocketPath"/>), never over TCP: the node itself, <c>strata backup</c> and
    /// <c>restore</c> connect this way.
    /// </summary>
    public static async Task<MySqlConnection> OpenAdminAsync(string socketPath, CancellationToken cancellationToken)
    {
        var connection = new MySqlConnection(new MySqlConnectionStringBuilder
        {
            Server = socketPath,
            ConnectionProtocol = MySqlConnectionProtocol.UnixSocket,
            UserID = Environment.UserName,
            Pooling = false,
            ConnectionTimeout = 2,
        }.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static string ReadPassword(DatabaseSpec database, string fileName = ManagedDatabase.PasswordFileName)
    {
        var path = PasswordFile(database, fileName);
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new InvalidOperationException(
                $"{path} is missing: the first database node to start creates it when it first starts ('strata up' starts it before the app nodes; on another host, copy it from there)", ex);
        }
    }
}
