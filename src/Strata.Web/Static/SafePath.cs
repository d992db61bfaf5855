using System.Buffers;
using System.Text.Unicode;

namespace Strata.Web.Static;

/// <summary>What <see cref="SafePath.Check"/> found in a request target.</summary>
internal enum PathVerdict
{
    /// <summary>A plain path: map it under the root.</summary>
    Ok,

    /// <summary>A segment starts with '.': answered 404 by the web node.</summary>
    Hidden,

    /// <summary>Traversal, encoded separators, NUL, control bytes, invalid or overlong UTF-8: answered 400.</summary>
    Invalid,
}

/// <summary>
/// Keeps every file the web node serves inside the web root. Written by hand because ASP.NET's static files serve
/// dot-files (<c>/.git/config</c>) and follow symlinks out of the root (see FINDINGS.md), and because Kestrel
/// quietly normalises <c>/../</c> and <c>%2e%2e</c>, which would let such requests fall through to the app tier.
/// The check therefore reads the raw request target, before Kestrel's decoding and dot-segment removal.
/// </summary>
internal static class SafePath
{
    private const int MaxSymlinkHops = 40;

    /// <summary>Checks the path part of the raw request target (origin or absolute form).</summary>
    public static PathVerdict Check(string rawTarget) => Check(rawTarget.AsSpan());

    /// <inheritdoc cref="Check(string)"/>
    public static PathVerdict Check(ReadOnlySpan<char> rawTarget)
    {
        var path = rawTarget;
        var query = path.IndexOf('?');
        if (query >= 0)
        {
            path = path[..query];
        }

        if (path.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || path.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            var afterScheme = path[(path.IndexOf("//", StringComparison.Ordinal) + 2)..];
            var slash = afterScheme.IndexOf('/');
            path = slash < 0 ? "/" : afterScheme[slash..];
        }

        if (path.IsEmpty || path[0] != '/')
        {
            return PathVerdict.Invalid;
        }

        byte[]? rented = null;
        var bytes = path.Length <= 512 ? stackalloc byte[path.Length] : (rented = ArrayPool<byte>.Shared.Rent(path.Length));
        try
        {
            var length = Decode(path, bytes);
            return length < 0 ? PathVerdict.Invalid : CheckSegments(bytes[..length]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// The canonical absolute path of <paramref name="path"/> with every symbolic link resolved (like realpath(3)),
    /// or null when a component does not exist or links loop. <paramref name="path"/> must be absolute and hold no
    /// "." or ".." segments.
    /// </summary>
    public static string? RealPath(string path)
    {
        var resolved = "/";
        var pending = new Stack<string>();
        PushSegments(pending, path);
        var hops = 0;
        while (pending.Count > 0)
        {
            var segment = pending.Pop();
            if (segment.Length == 0 || segment == ".")
            {
                continue;
            }

            if (segment == "..")
            {
                resolved = Path.GetDirectoryName(resolved) ?? "/";
                continue;
            }

            var next = resolved == "/" ? "/" + segment : resolved + "/" + segment;
            var link = new FileInfo(next).LinkTarget;
            if (link is not null)
            {
                if (++hops > MaxSymlinkHops)
                {
                    return null;
                }

                // The target's segments replace this one; an absolute target restarts from "/".
                PushSegments(pending, link);
                if (link.StartsWith('/'))
                {
                    resolved = "/";
                }

                continue;
            }

            if (!Path.Exists(next))
            {
                return null;
            }

            resolved = next;
        }

        return resolved;
    }

    /// <summary>Whether the canonical <paramref name="path"/> is <paramref name="root"/> or below it.</summary>
    public static bool IsUnder(string path, string root) =>
        path.Length == root.Length
            ? string.Equals(path, root, StringComparison.Ordinal)
            : path.StartsWith(root, StringComparison.Ordinal) && (root == "/" || path[root.Length] == '/');

    /// <summary>
    /// Whether any segment of the rooted relative <paramref name="path"/> starts with '.', other than
    /// <c>.well-known</c> (RFC 8615: ACME challenges and the like are meant to be served).
    /// </summary>
    public static bool HasHiddenSegment(ReadOnlySpan<char> path)
    {
        foreach (var range in path.Split('/'))
        {
            var segment = path[range];
            if (segment.Length > 0 && segment[0] == '.' && !segment.SequenceEqual(WellKnown))
            {
                return true;
            }
        }

        return false;
    }

    private const string WellKnown = ".well-known";

    private static void PushSegments(Stack<string> pending, string path)
    {
        var segments = path.Split('/');
        for (var i = segments.Length - 1; i >= 0; i--)
        {
            pending.Push(segments[i]);
        }
    }

    /// <summary>Percent-decodes into <paramref name="output"/>; -1 for a bad escape or an encoded '/', '\' or control byte.</summary>
    private static int Decode(ReadOnlySpan<char> path, Span<byte> output)
    {
        var length = 0;
        for (var i = 0; i < path.Length; i++)
        {
            int value = path[i];
            if (value == '%')
            {
                if (i + 2 >= path.Length || !IsHex(path[i + 1]) || !IsHex(path[i + 2]))
                {
                    return -1;
                }

                value = (HexValue(path[i + 1]) << 4) | HexValue(path[i + 2]);
                i += 2;
                if (value == '/')
                {
                    return -1;
                }
            }
            else if (value > 0xFF)
            {
                return -1;
            }

            if (value < 0x20 || value == 0x7F || value == '\\')
            {
                return -1;
            }

            output[length++] = (byte)value;
        }

        return length;
    }

    private static PathVerdict CheckSegments(ReadOnlySpan<byte> path)
    {
        // Rejects overlong forms such as %c0%ae ('.') and %c0%af ('/') along with every other invalid sequence.
        if (!Utf8.IsValid(path))
        {
            return PathVerdict.Invalid;
        }

        var hidden = false;
        var rest = path[1..];
        while (true)
        {
            var slash = rest.IndexOf((byte)'/');
            var segment = slash < 0 ? rest : rest[..slash];
            if (segment.IsEmpty)
            {
                // Only a final empty segment (a trailing slash, or the root itself) is allowed.
                if (slash >= 0)
                {
                    return PathVerdict.Invalid;
                }
            }
            else if (segment[0] == '.')
            {
                if (segment.Length == 1 || (segment.Length == 2 && segment[1] == '.'))
                {
                    return PathVerdict.Invalid;
                }

                hidden |= !segment.SequenceEqual(".well-known"u8);
            }

            if (slash < 0)
            {
                return hidden ? PathVerdict.Hidden : PathVerdict.Ok;
            }

            rest = rest[(slash + 1)..];
        }
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
