using System.Buffers;
using System.Text.Json;

namespace Strata.Web.AccessLog;

/// <summary>
/// One JSON object a line: <c>{"time","remote","method","path","protocol","status","bytes","referer","userAgent","durationMs","upstream"}</c>,
/// time in ISO 8601 UTC, path as sent (with its query), null for a missing header or upstream.
/// </summary>
internal sealed class JsonAccessLogFormat : IAccessLogFormat
{
    private static readonly JsonWriterOptions s_options = new() { SkipValidation = true };

    private Utf8JsonWriter? _json;

    public string Name => AccessLogFormats.Json;

    public void Write(in AccessLogEntry entry, IBufferWriter<byte> output)
    {
        // One writer for every line: the format is used by the single writer loop only.
        var json = _json ??= new Utf8JsonWriter(output, s_options);
        json.Reset(output);
        json.WriteStartObject();
        json.WriteString("time", entry.Time.UtcDateTime);
        json.WriteString("remote", entry.Remote);
        json.WriteString("method", entry.Method);
        json.WriteString("path", entry.Target);
        json.WriteString("protocol", entry.Protocol);
        json.WriteNumber("status", entry.Status);
        json.WriteNumber("bytes", entry.Bytes);
        json.WriteString("referer", string.IsNullOrEmpty(entry.Referer) ? null : entry.Referer);
        json.WriteString("userAgent", string.IsNullOrEmpty(entry.UserAgent) ? null : entry.UserAgent);
        json.WriteNumber("durationMs", Math.Round(entry.Duration.TotalMilliseconds, 3));
        json.WriteString("upstream", entry.Upstream);
        json.WriteEndObject();
        json.Flush();

        output.GetSpan(1)[0] = (byte)'\n';
        output.Advance(1);
    }
}
