namespace Strata.Export;

/// <summary>One file an export writes.</summary>
/// <param name="Name">File name inside the output folder, e.g. haproxy.cfg.</param>
/// <param name="Content">Its text; the same topology (and certificate files) always gives the same bytes.</param>
/// <param name="Secret">It holds a private key: written with mode 0600, as the files it came from.</param>
public sealed record ExportedFile(string Name, string Content, bool Secret = false)
{
    /// <summary>Writes the file into <paramref name="directory"/> and returns its path; a secret is never readable by others, even for a moment.</summary>
    public string WriteTo(string directory)
    {
        var path = Path.Combine(directory, Name);
        if (Secret && !OperatingSystem.IsWindows())
        {
            using var stream = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Create,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
            // An existing file keeps its mode on create: narrow it too.
            File.SetUnixFileMode(stream.SafeFileHandle, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            using var writer = new StreamWriter(stream);
            writer.Write(Content);
        }
        else
        {
            File.WriteAllText(path, Content);
        }

        return path;
    }
}

/// <summary>What an export may be told beyond the topology.</summary>
/// <param name="OutputDirectory">
/// Absolute folder the files go to; nginx's pid file, error log, access logs and temporary folders are put under it,
/// so that nginx runs without root and without touching /etc/nginx, and HAProxy's certificate files are read from it.
/// </param>
/// <param name="Workers">nginx's worker_processes and HAProxy's nbthread; null: their default ("auto" / one per CPU).</param>
public sealed record ExportSettings(string OutputDirectory, int? Workers = null);
