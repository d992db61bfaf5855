using System.Text.RegularExpressions;
using Strata.Topology;

namespace Strata.Web.Static;

/// <summary>Chooses the Cache-Control of a served file: configured prefix rules, then fingerprinted names, then the default.</summary>
internal static partial class CachePolicy
{
    /// <summary>The Cache-Control for the file at request path <paramref name="path"/>.</summary>
    public static string For(WebSpec spec, string path)
    {
        // spec.CacheControl is kept longest prefix first, so the first match is the most specific.
        foreach (var (prefix, value) in spec.CacheControl)
        {
            if (path.StartsWith(prefix, StringComparison.Ordinal))
            {
                return value;
            }
        }

        return IsFingerprinted(Path.GetFileName(path)) ? WebSpec.ImmutableCacheControl : WebSpec.DefaultCacheControl;
    }

    /// <summary>
    /// Whether a file name carries a content hash, so it can be cached for a year: a segment of 8 to 64 characters
    /// from <c>[A-Za-z0-9_]</c>, right after a <c>.</c> or <c>-</c> and right before the final extension, holding at
    /// least one digit and at least two letters. Matches <c>app.3f2a9c1b.js</c>, <c>app-3f2a9c1bde.css</c>,
    /// <c>chunk.Ab3dE_9x.js</c>; not <c>jquery-3.7.1.min.js</c>, <c>bootstrap.bundle.js</c>, <c>logo-1024x1024.png</c>
    /// or <c>build-20240101.js</c>. A miss only costs a revalidation; a false match would pin a mutable file for a
    /// year, so the rule leans strict (a base64url hash with a <c>-</c> inside is not recognised).
    /// </summary>
    public static bool IsFingerprinted(string fileName) => Fingerprint().IsMatch(fileName);

    [GeneratedRegex(@"[.-](?=[A-Za-z_]*[0-9])(?=[0-9_]*[A-Za-z][0-9_]*[A-Za-z])[A-Za-z0-9_]{8,64}\.[A-Za-z0-9]+$", RegexOptions.CultureInvariant)]
    private static partial Regex Fingerprint();
}
