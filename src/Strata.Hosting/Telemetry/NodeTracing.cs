using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Strata.Topology;

namespace Strata.Hosting.Telemetry;

/// <summary>
/// A node's traces, with OpenTelemetry: a span for every request the node serves (ASP.NET Core's, and the load
/// balancer's connection path and forwarding attempts, the app's database calls: the <c>Strata.*</c> activity
/// sources; MySqlConnector's commands), W3C <c>traceparent</c> propagated to the tier behind, exported by OTLP.
/// </summary>
/// <remarks>
/// On only when an endpoint is configured: <c>telemetry.otlpEndpoint</c> in the topology, else the SDK's own
/// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT. Otherwise no tracer provider is built, so no
/// activity source has a listener: ASP.NET Core starts no activity per request, StartActivity returns null at once, and
/// the proxies send a client's traceparent on as they got it.
/// </remarks>
public static class NodeTracing
{
    /// <summary>The environment variables that turn tracing on without a telemetry section (the SDK then reads the rest: protocol, headers...).</summary>
    public static readonly IReadOnlyList<string> EndpointVariables = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"];

    /// <summary>The activity sources traced: Strata's own (Strata.Proxy, Strata.App) and MySqlConnector's.</summary>
    public static readonly string[] Sources = ["Strata.*", "MySqlConnector"];

    /// <summary>The resource's service namespace; the service is the tier (lb, web...), the instance the node.</summary>
    public const string ServiceNamespace = "strata";

    /// <summary>Whether a node of a topology with <paramref name="telemetry"/> traces.</summary>
    public static bool IsOn(TelemetrySpec? telemetry) =>
        telemetry is not null || EndpointVariables.Any(v => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(v)));

    /// <summary>Adds tracing to the node when <see cref="IsOn"/>; nothing otherwise.</summary>
    /// <param name="isProbe">Requests not traced: health checks and scrapes, several a second on every node.</param>
    internal static void AddTracing(this WebApplicationBuilder builder, TelemetrySpec? telemetry, NodeSpec node, Func<HttpContext, bool> isProbe)
    {
        if (!IsOn(telemetry))
        {
            return;
        }

        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(
                serviceName: node.Role.ShortName(), serviceNamespace: ServiceNamespace, serviceInstanceId: node.Name, autoGenerateServiceInstanceId: false))
            .WithTracing(tracing =>
            {
                tracing
                    .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(telemetry?.SampleRatio ?? 1)))
                    .AddAspNetCoreInstrumentation(o => o.Filter = context => !isProbe(context))
                    .AddSource(Sources)
                    .AddOtlpExporter(o =>
                    {
                        if (telemetry is not null)
                        {
                            Configure(o, telemetry);
                        }
                    });
            });
    }

    /// <summary>The exporter's endpoint and protocol from the topology (the SDK appends the signal's path only to an endpoint from its variables).</summary>
    private static void Configure(OtlpExporterOptions options, TelemetrySpec telemetry)
    {
        if (telemetry.OtlpProtocol == TelemetrySpec.Grpc)
        {
            options.Protocol = OtlpExportProtocol.Grpc;
            options.Endpoint = telemetry.OtlpEndpoint;
            return;
        }

        options.Protocol = OtlpExportProtocol.HttpProtobuf;
        options.Endpoint = new Uri(telemetry.OtlpEndpoint.AbsoluteUri.TrimEnd('/') + "/v1/traces");
    }
}
