using Microsoft.Data.Sqlite;
using Strata.Topology;

namespace Strata.Tests.Data;

/// <summary>A SQLite file path in a fresh temporary folder (the file itself is not created), deleted on dispose.</summary>
public sealed class TempDatabase : IDisposable
{
    public TempDatabase()
    {
        Directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "strata-tests", Guid.NewGuid().ToString("n"));
        System.IO.Directory.CreateDirectory(Directory);
        Path = System.IO.Path.Combine(Directory, "db", "foobar.db");
    }

    /// <summary>The temporary folder holding everything.</summary>
    public string Directory { get; }

    /// <summary>The database file, in a sub-folder that does not exist yet.</summary>
    public string Path { get; }

    public DatabaseSpec Spec => new("sqlite", Path);

    /// <summary>A connection of the test's own, outside any store, for checking what is really in the file.</summary>
    public SqliteConnection OpenConnection()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    public void Dispose()
    {
        // Pooled connections keep the files open; let them go so the folder really disappears.
        SqliteConnection.ClearAllPools();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
