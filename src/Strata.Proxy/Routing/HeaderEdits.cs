using System.Collections.Frozen;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Http;
using Strata.Topology;

namespace Strata.Proxy.Routing;

/// <summary>
/// A route's header rules, in order, reduced to what they do together: the names whose headers are dropped (set and
/// remove) and the lines added after them (set and add). Each transport applies the same result: Kestrel's header
/// dictionaries, HttpClient's request, or the head bytes of the connection path.
/// </summary>
internal sealed class HeaderEdits
{
    public static readonly HeaderEdits None = new([], []);

    private readonly string[] _dropped;
    private readonly FrozenSet<string> _droppedSet;

    private HeaderEdits(string[] dropped, KeyValuePair<string, string>[] added)
    {
        _dropped = dropped;
        _droppedSet = dropped.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
        Added = added;
        // Values may be Latin-1 (the validator allows no more); header bytes are Latin-1 on the wire.
        Lines = Encoding.Latin1.GetBytes(string.Concat(added.Select(h => $"{h.Key}: {h.Value}\r\n")));
    }

    public bool IsEmpty => _dropped.Length == 0 && Added.Length == 0;

    /// <summary>The headers added, in order.</summary>
    public KeyValuePair<string, string>[] Added { get; }

    /// <summary><see cref="Added"/> as header lines, CRLF after each.</summary>
    public byte[] Lines { get; }

    /// <summary>Reduces <paramref name="rules"/> (in order: a later rule sees what the earlier ones did).</summary>
    public static HeaderEdits Compile(IEnumerable<HeaderRule> rules)
    {
        var dropped = new List<string>();
        var added = new List<KeyValuePair<string, string>>();
        foreach (var rule in rules)
        {
            if (rule.Action != HeaderAction.Add)
            {
                added.RemoveAll(h => string.Equals(h.Key, rule.Name, StringComparison.OrdinalIgnoreCase));
                if (!dropped.Contains(rule.Name, StringComparer.OrdinalIgnoreCase))
                {
                    dropped.Add(rule.Name);
                }
            }

            if (rule.Action != HeaderAction.Remove)
            {
                added.Add(new(rule.Name, rule.Value));
            }
        }

        return dropped.Count == 0 && added.Count == 0 ? None : new HeaderEdits([.. dropped], [.. added]);
    }

    /// <summary>Whether a header named <paramref name="name"/> from the message is dropped.</summary>
    public bool Drops(string name) => _dropped.Length != 0 && _droppedSet.Contains(name);

    /// <inheritdoc cref="Drops(string)"/>
    public bool Drops(ReadOnlySpan<byte> name)
    {
        foreach (var dropped in _dropped)
        {
            if (dropped.Length == name.Length && Ascii.EqualsIgnoreCase(name, dropped))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Applies the edits to Kestrel's request or response headers.</summary>
    public void ApplyTo(IHeaderDictionary headers)
    {
        foreach (var name in _dropped)
        {
            headers.Remove(name);
        }

        foreach (var (name, value) in Added)
        {
            headers.Append(name, value);
        }
    }

    /// <summary>Applies the edits to the request HttpClient sends (content headers live on its content).</summary>
    public void ApplyTo(HttpRequestMessage request)
    {
        foreach (var name in _dropped)
        {
            if (IsContentHeader(name))
            {
                request.Content?.Headers.Remove(name);
            }
            else
            {
                request.Headers.Remove(name);
            }
        }

        foreach (var (name, value) in Added)
        {
            HttpHeaders headers = IsContentHeader(name) ? request.Content?.Headers ?? (HttpHeaders)request.Headers : request.Headers;
            headers.TryAddWithoutValidation(name, value);
        }
    }

    /// <summary>Whether HttpClient keeps <paramref name="name"/> on HttpContent (System.Net.Http's known content headers).</summary>
    public static bool IsContentHeader(string name) => ContentHeaders.Contains(name);

    private static readonly FrozenSet<string> ContentHeaders = FrozenSet.Create(
        StringComparer.OrdinalIgnoreCase,
        "Allow", "Content-Disposition", "Content-Encoding", "Content-Language", "Content-Length", "Content-Location",
        "Content-MD5", "Content-Range", "Content-Type", "Expires", "Last-Modified");
}
