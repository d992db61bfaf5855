using System.Buffers;

namespace Strata.Web.Static;

/// <summary>The files of the site a web node requests of itself before it says ready (<see cref="Hosting.WarmUp.NodeWarmUp"/>).</summary>
internal static class WarmUpFiles
{
    // Names taken as they are into a request target: no escaping, nothing the static files refuse (dot files).
    private static readonly SearchValues<char> s_plain = SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");

    /// <summary>
    /// The smallest file held in memory and the smallest one sent by sendfile (<see cref="ConnectionStaticFiles.SendFileMinBytes"/>)
    /// in <paramref name="root"/> and its first level of folders; none when the site has no plainly named file.
    /// </summary>
    public static IReadOnlyList<string> Find(string root)
    {
        (string Path, long Length)? small = null, large = null;
        try
        {
            var options = new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 1, IgnoreInaccessible = true };
            foreach (var file in new DirectoryInfo(root).EnumerateFiles("*", options))
            {
                var relative = Path.GetRelativePath(root, file.FullName).Replace(Path.DirectorySeparatorChar, '/');
                if (relative.Split('/').Any(part => part.StartsWith('.') || part.AsSpan().ContainsAnyExcept(s_plain)))
                {
                    continue;
                }

                ref var slot = ref file.Length < ConnectionStaticFiles.SendFileMinBytes ? ref small : ref large;
                if (slot is not { } best || file.Length < best.Length)
                {
                    slot = ("/" + relative, file.Length);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A root that cannot be read: no warm-up, the static files say what is wrong when asked.
        }

        return [.. new[] { small, large }.Where(f => f is not null).Select(f => f!.Value.Path)];
    }
}
