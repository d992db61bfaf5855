namespace Strata.Topology;

/// <summary>
/// How a web node names what it serves, shared by Strata.Web and the nginx.conf that <c>strata export nginx</c> writes:
/// the content type of each extension, and the rule that recognises a fingerprinted file name.
/// </summary>
public static class WebContent
{
    /// <summary>The type of an unknown extension.</summary>
    public const string DefaultType = "application/octet-stream";

    /// <summary>
    /// A fingerprinted file name, on the last path segment: after <c>.</c> or <c>-</c>, right before the extension,
    /// 8-64 lower-case hex characters with a digit and a letter (webpack's <c>[contenthash]</c>), or 8-64 of
    /// <c>[A-Za-z0-9_]</c> mixing upper case, lower case and a digit (Vite's hashes). A word with a year
    /// ("report-2024final") has no upper case and is not hex: not fingerprinted.
    /// </summary>
    public const string FingerprintPattern =
        @"[.-](?:(?=[a-f]*[0-9])(?=[0-9]*[a-f])[0-9a-f]{8,64}|(?=[A-Za-z_]*[0-9])(?=[0-9A-Z_]*[a-z])(?=[0-9a-z_]*[A-Z])[A-Za-z0-9_]{8,64})\.[A-Za-z0-9]+$";

    /// <summary>
    /// Each extension (with its dot), its Content-Type (text types with their charset) and whether it is worth
    /// compressing on the fly. A short explicit table rather than ASP.NET's 380-entry provider or nginx's mime.types.
    /// </summary>
    public static IReadOnlyList<(string Extension, string Type, bool Compressible)> Types { get; } =
    [
        (".html", "text/html; charset=utf-8", true),
        (".htm", "text/html; charset=utf-8", true),
        (".css", "text/css; charset=utf-8", true),
        (".js", "text/javascript; charset=utf-8", true),
        (".mjs", "text/javascript; charset=utf-8", true),
        (".json", "application/json", true),
        (".map", "application/json", true),
        (".svg", "image/svg+xml", true),
        (".txt", "text/plain; charset=utf-8", true),
        (".xml", "application/xml", true),
        // Not text, but WebAssembly modules shrink by half or more.
        (".wasm", "application/wasm", true),
        (".ico", "image/x-icon", true),
        (".png", "image/png", false),
        (".jpg", "image/jpeg", false),
        (".jpeg", "image/jpeg", false),
        (".gif", "image/gif", false),
        (".webp", "image/webp", false),
        (".avif", "image/avif", false),
        (".woff2", "font/woff2", false),
        (".woff", "font/woff", false),
        (".pdf", "application/pdf", false),
    ];
}
