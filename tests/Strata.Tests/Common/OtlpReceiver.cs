using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Strata.Tests.Common;

/// <summary>
/// A small OTLP/HTTP trace receiver (what Jaeger, the Aspire dashboard or a Collector listen with on 4318): Kestrel on
/// 127.0.0.1, port 0, taking <c>POST /v1/traces</c> with an ExportTraceServiceRequest in protobuf
/// (opentelemetry-proto's collector/trace/v1) and keeping each span with its resource's service.
/// </summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedSpan> _spans = new();

    private OtlpReceiver(WebApplication app) => _app = app;

    /// <summary>The base address to configure (<c>telemetry.otlpEndpoint</c>).</summary>
    public Uri Endpoint => new(_app.Urls.First());

    /// <summary>Every span received so far.</summary>
    public IReadOnlyList<ReceivedSpan> Spans => [.. _spans];

    /// <summary>Export requests that could not be read (should stay 0).</summary>
    public int Malformed { get; private set; }

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/traces", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            try
            {
                receiver.Read(body.ToArray());
            }
            catch (InvalidDataException)
            {
                receiver.Malformed++;
                return Results.BadRequest();
            }

            // An empty ExportTraceServiceResponse.
            return Results.Bytes([], "application/x-protobuf");
        });
        await app.StartAsync();
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    // ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
    private void Read(ReadOnlyMemory<byte> request)
    {
        foreach (var (field, resourceSpans) in Proto.LengthDelimited(request))
        {
            if (field == 1)
            {
                ReadResourceSpans(resourceSpans);
            }
        }
    }

    // ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
    // Resource { repeated KeyValue attributes = 1; }  ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
    private void ReadResourceSpans(ReadOnlyMemory<byte> resourceSpans)
    {
        var fields = Proto.LengthDelimited(resourceSpans).ToList();
        var attributes = fields.Where(f => f.Field == 1).SelectMany(r => Proto.LengthDelimited(r.Value)).Where(a => a.Field == 1).Select(a => Proto.KeyValue(a.Value)).ToList();
        var service = attributes.FirstOrDefault(a => a.Key == "service.name").Value;
        var instance = attributes.FirstOrDefault(a => a.Key == "service.instance.id").Value;
        foreach (var (_, scopeSpans) in fields.Where(f => f.Field == 2))
        {
            var scopeFields = Proto.LengthDelimited(scopeSpans).ToList();
            var scope = scopeFields.Where(f => f.Field == 1).SelectMany(s => Proto.LengthDelimited(s.Value)).Where(s => s.Field == 1).Select(s => Proto.Text(s.Value)).FirstOrDefault();
            foreach (var (_, span) in scopeFields.Where(f => f.Field == 2))
            {
                _spans.Enqueue(ReadSpan(span, service, instance, scope));
            }
        }
    }

    // Span { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; string name = 5; SpanKind kind = 6; ... }
    private static ReceivedSpan ReadSpan(ReadOnlyMemory<byte> span, string? service, string? instance, string? scope)
    {
        string traceId = "", spanId = "", parent = "", name = "";
        var kind = 0;
        foreach (var (field, wireType, value, number) in Proto.Fields(span))
        {
            switch (field)
            {
                case 1: traceId = Convert.ToHexStringLower(value.Span); break;
                case 2: spanId = Convert.ToHexStringLower(value.Span); break;
                case 4: parent = Convert.ToHexStringLower(value.Span); break;
                case 5: name = Proto.Text(value); break;
                case 6 when wireType == 0: kind = (int)number; break;
            }
        }

        return new ReceivedSpan(service ?? "", instance ?? "", scope ?? "", traceId, spanId, parent, name, (SpanKind)kind);
    }

    /// <summary>OTLP's SpanKind.</summary>
    public enum SpanKind
    {
        Unspecified,
        Internal,
        Server,
        Client,
        Producer,
        Consumer,
    }

    /// <summary>One span: its resource's service (the tier) and instance (the node), its scope (the activity source), ids in hex.</summary>
    public sealed record ReceivedSpan(string Service, string Instance, string Scope, string TraceId, string SpanId, string ParentSpanId, string Name, SpanKind Kind);

    /// <summary>Just enough of protobuf's wire format (https://protobuf.dev/programming-guides/encoding/) to read the spans.</summary>
    private static class Proto
    {
        /// <summary>Every field: its number, wire type, bytes (length-delimited) and number (varint, fixed).</summary>
        public static IEnumerable<(int Field, int WireType, ReadOnlyMemory<byte> Value, ulong Number)> Fields(ReadOnlyMemory<byte> message)
        {
            var position = 0;
            while (position < message.Length)
            {
                var key = Varint(message.Span, ref position);
                var field = (int)(key >> 3);
                var wireType = (int)(key & 7);
                switch (wireType)
                {
                    case 0:
                        yield return (field, wireType, default, Varint(message.Span, ref position));
                        break;
                    case 1:
                        yield return (field, wireType, message.Slice(position, 8), BitConverter.ToUInt64(message.Span.Slice(position, 8)));
                        position += 8;
                        break;
                    case 2:
                        var length = (int)Varint(message.Span, ref position);
                        if (length < 0 || position + length > message.Length)
                        {
                            throw new InvalidDataException("a length beyond the message");
                        }

                        yield return (field, wireType, message.Slice(position, length), 0);
                        position += length;
                        break;
                    case 5:
                        yield return (field, wireType, message.Slice(position, 4), BitConverter.ToUInt32(message.Span.Slice(position, 4)));
                        position += 4;
                        break;
                    default:
                        throw new InvalidDataException($"wire type {wireType}");
                }
            }
        }

        public static IEnumerable<(int Field, ReadOnlyMemory<byte> Value)> LengthDelimited(ReadOnlyMemory<byte> message) =>
            Fields(message).Where(f => f.WireType == 2).Select(f => (f.Field, f.Value));

        public static string Text(ReadOnlyMemory<byte> value) => System.Text.Encoding.UTF8.GetString(value.Span);

        // KeyValue { string key = 1; AnyValue value = 2; }  AnyValue { string string_value = 1; ... }
        public static (string Key, string? Value) KeyValue(ReadOnlyMemory<byte> keyValue)
        {
            var fields = LengthDelimited(keyValue).ToList();
            var key = fields.Where(f => f.Field == 1).Select(f => Text(f.Value)).FirstOrDefault() ?? "";
            var value = fields.Where(f => f.Field == 2).SelectMany(f => LengthDelimited(f.Value)).Where(f => f.Field == 1).Select(f => Text(f.Value)).FirstOrDefault();
            return (key, value);
        }

        private static ulong Varint(ReadOnlySpan<byte> bytes, ref int position)
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (position >= bytes.Length)
                {
                    throw new InvalidDataException("a varint beyond the message");
                }

                var b = bytes[position++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }

            throw new InvalidDataException("a varint longer than 10 bytes");
        }
    }
}
