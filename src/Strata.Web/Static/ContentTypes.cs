using System.Collections.Frozen;

namespace Strata.Web.Static;

/// <summary>
/// Content types by file extension, and which of them are worth compressing on the fly. A short explicit table
/// rather than ASP.NET's 380-entry provider: text types carry a charset, and the compressible set lives beside them.
/// </summary>
internal static class ContentTypes
{
    /// <summary>The type of an unknown extension.</summary>
    public const string Default = "application/octet-stream";

    private static readonly FrozenDictionary<string, (string Type, bool Compressible)> ByExtension =
        new Dictionary<string, (string, bool)>(StringComparer.OrdinalIgnoreCase)
        {
            [".html"] = ("text/html; charset=utf-8", true),
            [".htm"] = ("text/html; charset=utf-8", true),
            [".css"] = ("text/css; charset=utf-8", true),
            [".js"] = ("text/javascript; charset=utf-8", true),
            [".mjs"] = ("text/javascript; charset=utf-8", true),
            [".json"] = ("application/json", true),
            [".map"] = ("application/json", true),
            [".svg"] = ("image/svg+xml", true),
            [".txt"] = ("text/plain; charset=utf-8", true),
            [".xml"] = ("application/xml", true),
            // Not text, but WebAssembly modules shrink by half or more.
            [".wasm"] = ("application/wasm", true),
            [".ico"] = ("image/x-icon", true),
            [".png"] = ("image/png", false),
            [".jpg"] = ("image/jpeg", false),
            [".jpeg"] = ("image/jpeg", false),
            [".gif"] = ("image/gif", false),
            [".webp"] = ("image/webp", false),
            [".avif"] = ("image/avif", false),
            [".woff2"] = ("font/woff2", false),
            [".woff"] = ("font/woff", false),
            [".pdf"] = ("application/pdf", false),
        }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    /// <summary>The Content-Type of <paramref name="fileName"/> and whether it compresses well.</summary>
    public static (string Type, bool Compressible) For(string fileName) =>
        ByExtension.TryGetValue(Path.GetExtension(fileName), out var found) ? found : (Default, false);
}
