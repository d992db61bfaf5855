using System.Collections.Frozen;
using Strata.Topology;

namespace Strata.Web.Static;

/// <summary>Content types by file extension (<see cref="WebContent.Types"/>), and which of them are worth compressing on the fly.</summary>
internal static class ContentTypes
{
    /// <summary>The type of an unknown extension.</summary>
    public const string Default = WebContent.DefaultType;

    private static readonly FrozenDictionary<string, (string Type, bool Compressible)> ByExtension =
        WebContent.Types.ToFrozenDictionary(t => t.Extension, t => (t.Type, t.Compressible), StringComparer.OrdinalIgnoreCase);

    /// <summary>The Content-Type of <paramref name="fileName"/> and whether it compresses well.</summary>
    public static (string Type, bool Compressible) For(string fileName) =>
        ByExtension.TryGetValue(Path.GetExtension(fileName), out var found) ? found : (Default, false);
}
