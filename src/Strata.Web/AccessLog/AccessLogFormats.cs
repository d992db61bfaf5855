using System.Collections.Frozen;

namespace Strata.Web.AccessLog;

/// <summary>The access log formats, by the name web.accessLog.format gives them (the validator rejects others).</summary>
internal static class AccessLogFormats
{
    /// <summary>nginx's <c>combined</c>, with the request time appended.</summary>
    public const string Combined = "combined";

    /// <summary>One JSON object a line.</summary>
    public const string Json = "json";

    private static readonly FrozenDictionary<string, Func<TimeProvider, IAccessLogFormat>> s_formats =
        new Dictionary<string, Func<TimeProvider, IAccessLogFormat>>(StringComparer.OrdinalIgnoreCase)
        {
            [Combined] = time => new CombinedAccessLogFormat(time),
            [Json] = _ => new JsonAccessLogFormat(),
        }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    /// <summary>The format named <paramref name="name"/>; times in the combined format are in <paramref name="time"/>'s local zone.</summary>
    public static IAccessLogFormat Create(string name, TimeProvider time) =>
        s_formats.TryGetValue(name, out var create)
            ? create(time)
            : throw new ArgumentException($"'{name}' is not an access log format; the formats are: {string.Join(", ", s_formats.Keys)}", nameof(name));
}
