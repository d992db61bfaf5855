using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using Strata.Hosting.Logs;

namespace Strata.Proxy.RequestLog;

/// <summary>
/// One JSON object a line with the fields of <see cref="HttpLogFormat"/> by name:
/// <c>{"time","client","clientPort","frontend","tls","route","pool","server","receiveMs","queueMs","connectMs","responseMs","totalMs","status","bytes","retries","termination","method","target","protocol"}</c>,
/// the time in ISO 8601 UTC, timers in milliseconds with microseconds (null for a phase not reached or not measured),
/// null for no server.
/// </summary>
internal sealed class JsonRequestLogFormat(string nodeName, System.Net.IPEndPoint vip) : ILogLineFormat<RequestLogEntry>
{
    private static readonly JsonWriterOptions s_options = new() { SkipValidation = true };

    private Utf8JsonWriter? _json;

    public void Write(in RequestLogEntry entry, IBufferWriter<byte> output)
    {
        // One writer for every line: the format is used by the single writer loop only.
        var json = _json ??= new Utf8JsonWriter(output, s_options);
        json.Reset(output);
        json.WriteStartObject();
        json.WriteString("time", entry.Date.UtcDateTime);
        var client = entry.Client;
        json.WriteString("client", client is null ? null : (client.IsIPv4MappedToIPv6 ? client.MapToIPv4() : client).ToString());
        json.WriteNumber("clientPort", entry.ClientPort);
        json.WriteString("frontend", HttpLogFormat.Frontend(entry, nodeName, vip));
        json.WriteBoolean("tls", entry.Tls);
        json.WriteString("route", entry.Route);
        json.WriteString("pool", entry.Pool);
        json.WriteString("server", entry.Server);
        var times = entry.Times;
        Milliseconds(json, "receiveMs", times.Receive);
        Milliseconds(json, "queueMs", times.Queue);
        Milliseconds(json, "connectMs", times.Connect);
        Milliseconds(json, "responseMs", times.Response);
        Milliseconds(json, "totalMs", times.Total);
        json.WriteNumber("status", entry.Status);
        json.WriteNumber("bytes", entry.Bytes);
        json.WriteNumber("retries", entry.Retries);
        json.WriteString("termination", entry.Termination.ToString());
        json.WriteString("method", entry.Method);
        json.WriteString("target", entry.Target);
        json.WriteString("protocol", entry.Protocol);
        json.WriteEndObject();
        json.Flush();

        output.GetSpan(1)[0] = (byte)'\n';
        output.Advance(1);
    }

    private static void Milliseconds(Utf8JsonWriter json, string name, long ticks)
    {
        if (ticks < 0)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteNumber(name, Math.Round(ticks * 1000.0 / Stopwatch.Frequency, 3));
        }
    }
}
