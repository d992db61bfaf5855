using System.Text;
using System.Text.Json;

namespace Strata.Topology;

/// <summary>
/// Changes the size of a tier in the text of a topology file, keeping everything else as written: comments, layout,
/// the other nodes (the file is JSON with comments, and the one source of truth: <c>strata scale</c> writes the new
/// size there, so a later <c>down</c> / <c>up</c> and every node's reload see the same servers).
/// </summary>
/// <remarks>
/// By hand over <see cref="Utf8JsonReader"/>'s token offsets: System.Text.Json's writer and JsonNode drop comments,
/// and no library served here edits JSON with comments in place.
/// </remarks>
public static class TopologyFileEditor
{
    private static readonly JsonReaderOptions Options = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <summary>
    /// The text with the last <paramref name="remove"/> entries of <c>TIER.nodes</c> taken out, then
    /// <paramref name="add"/> (each a JSON object) appended, each on a line of its own indented as the last entry.
    /// </summary>
    /// <param name="text">The topology file's text.</param>
    /// <param name="tier">The top-level key: "web", "app", "loadBalancers".</param>
    /// <exception cref="FormatException">The file has no <c>TIER.nodes</c> array with enough entries.</exception>
    public static string ResizeNodes(string text, string tier, int remove, IReadOnlyList<string> add)
    {
        if (remove > 0 && add.Count > 0)
        {
            throw new ArgumentException("either remove entries or add them, not both at once", nameof(add));
        }

        var bytes = Encoding.UTF8.GetBytes(text);
        var entries = NodeEntries(bytes, tier);
        if (entries.Count - remove < 1)
        {
            throw new FormatException($"{tier}.nodes has {entries.Count} entries: cannot take {remove} out and keep one");
        }

        var kept = entries[entries.Count - remove - 1];
        var last = entries[^1];
        // On a line of its own as the last entry is, else after it on the same line.
        var separator = Indent(bytes, last.Start) is { } indent ? ",\n" + indent : ", ";
        var inserted = new StringBuilder();
        foreach (var node in add)
        {
            inserted.Append(separator).Append(node);
        }

        if (remove == 0)
        {
            return Encoding.UTF8.GetString(bytes, 0, last.End) + inserted + Encoding.UTF8.GetString(bytes, last.End, bytes.Length - last.End);
        }

        // Everything from the end of the last kept entry to the end of the last entry goes (the removed entries with
        // their commas and comments), but a comment on the kept entry's own line, which stays without its comma.
        return Encoding.UTF8.GetString(bytes, 0, kept.End) + SameLineComment(bytes, kept.End) + Encoding.UTF8.GetString(bytes, last.End, bytes.Length - last.End);
    }

    /// <summary>A <c>// comment</c> after <paramref name="at"/> on its line (after a comma), with the spaces before it; else "".</summary>
    private static string SameLineComment(byte[] bytes, int at)
    {
        var end = Array.IndexOf(bytes, (byte)'\n', at);
        var line = Encoding.UTF8.GetString(bytes, at, (end < 0 ? bytes.Length : end) - at);
        var comment = line.IndexOf("//", StringComparison.Ordinal);
        return comment >= 0 && line[..comment].Trim() is "," or "" ? " " + line[comment..].TrimEnd('\r') : "";
    }

    /// <summary>The byte ranges of the objects in <c>TIER.nodes</c>.</summary>
    private static List<(int Start, int End)> NodeEntries(byte[] bytes, string tier)
    {
        var reader = new Utf8JsonReader(bytes, Options);
        var entries = new List<(int Start, int End)>();
        string? topKey = null;
        var inNodes = false;
        var entryStart = -1;
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName when reader.CurrentDepth == 1:
                    topKey = reader.GetString();
                    break;
                case JsonTokenType.PropertyName when reader.CurrentDepth == 2 && topKey == tier && reader.ValueTextEquals("nodes"):
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartArray)
                    {
                        throw new FormatException($"{tier}.nodes is not an array");
                    }

                    inNodes = true;
                    break;
                case JsonTokenType.StartObject when inNodes && reader.CurrentDepth == 3:
                    entryStart = (int)reader.TokenStartIndex;
                    break;
                case JsonTokenType.EndObject when inNodes && reader.CurrentDepth == 3:
                    entries.Add((entryStart, (int)reader.BytesConsumed));
                    break;
                case JsonTokenType.EndArray when inNodes && reader.CurrentDepth == 2:
                    return entries;
            }
        }

        throw new FormatException($"the topology has no {tier}.nodes array");
    }

    /// <summary>The spaces and tabs before <paramref name="at"/> when nothing else is before it on its line (a new entry's indentation), else null.</summary>
    private static string? Indent(byte[] bytes, int at)
    {
        var start = at;
        while (start > 0 && bytes[start - 1] is (byte)' ' or (byte)'\t')
        {
            start--;
        }

        return start > 0 && bytes[start - 1] == '\n' ? Encoding.UTF8.GetString(bytes, start, at - start) : null;
    }
}
