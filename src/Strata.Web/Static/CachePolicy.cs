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
    /// Whether a file name carries a content hash, so it can be cached for a year: a segment right after a <c>.</c>
    /// or <c>-</c> and right before the final extension, of 8 to 64 lower-case hex characters with a digit and a
    /// letter, or of 8 to 64 <c>[A-Za-z0-9_]</c> mixing upper case, lower case and a digit. Matches <c>app.3f2a9c1b.js</c>, <c>app-3f2a9c1bde.css</c>,
    /// <c>chunk.Ab3dE_9x.js</c>; not <c>jquery-3.7.1.min.js</c>, <c>bootstrap.bundle.js</c>, <c>logo-1024x1024.png</c>
    /// <c>build-20240101.js</c> or <c>report-2024final.pdf</c>. A miss only costs a revalidation; a false match would pin a mutable file for a
    /// year, so the rule leans strict (a base64url hash with a <c>-</c> inside is not recognised).
    /// </summary>
    public static bool IsFingerprinted(string fileName) => Fingerprint().IsMatch(fileName);

    [GeneratedRegex(WebContent.FingerprintPattern, RegexOptions.CultureInvariant)]
    private static partial Regex Fingerprint();
}
