using System.Globalization;

namespace Strata.Topology;

/// <summary>The checks of the telemetry section.</summary>
internal sealed partial class TopologyValidator
{
    private TelemetrySpec? Telemetry(TelemetryOptions? telemetry)
    {
        if (telemetry is null)
        {
            return null;
        }

        var protocol = telemetry.OtlpProtocol ?? TelemetrySpec.HttpProtobuf;
        if (!TelemetrySpec.Protocols.Contains(protocol))
        {
            Error("telemetry.otlpProtocol", $"'{protocol}' is not an OTLP protocol; use one of: {string.Join(", ", TelemetrySpec.Protocols)}");
        }

        var ratio = telemetry.SampleRatio ?? 1;
        if (ratio is < 0 or > 1 || double.IsNaN(ratio))
        {
            Error("telemetry.sampleRatio", string.Create(CultureInfo.InvariantCulture, $"must be between 0 and 1 (got {ratio})"));
        }

        if (string.IsNullOrWhiteSpace(telemetry.OtlpEndpoint))
        {
            Error("telemetry.otlpEndpoint", "is required (the collector's OTLP address, e.g. \"http://127.0.0.1:4318\"; or leave telemetry out)");
            return null;
        }

        if (!Uri.TryCreate(telemetry.OtlpEndpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(endpoint.Query))
        {
            Error("telemetry.otlpEndpoint", $"'{telemetry.OtlpEndpoint}' is not an http:// or https:// address without a query (e.g. \"http://127.0.0.1:4318\")");
            return null;
        }

        return new TelemetrySpec(endpoint, protocol, ratio);
    }
}
