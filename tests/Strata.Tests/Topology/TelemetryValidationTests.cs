using System.Text.Json.Nodes;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.Topology;

/// <summary>The telemetry section: where traces go, checked with the field named.</summary>
public sealed class TelemetryValidationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("strata-telemetry-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Load_NoTelemetry_None()
    {
        Assert.Null(Load(null).Telemetry);
    }

    [Fact]
    public void Load_EndpointOnly_HttpProtobufEveryTrace()
    {
        var telemetry = Load(new JsonObject { ["otlpEndpoint"] = "http://127.0.0.1:4318" }).Telemetry;

        Assert.Equal(new TelemetrySpec(new Uri("http://127.0.0.1:4318"), TelemetrySpec.HttpProtobuf, 1), telemetry);
    }

    [Fact]
    public void Load_GrpcAndARatio_Kept()
    {
        var telemetry = Load(new JsonObject { ["otlpEndpoint"] = "https://collector:4317", ["otlpProtocol"] = "grpc", ["sampleRatio"] = 0.25 }).Telemetry;

        Assert.Equal(new TelemetrySpec(new Uri("https://collector:4317"), TelemetrySpec.Grpc, 0.25), telemetry);
    }

    [Theory]
    [InlineData("{}", "telemetry.otlpEndpoint", "is required")]
    [InlineData("""{"otlpEndpoint":"127.0.0.1:4318"}""", "telemetry.otlpEndpoint", "is not an http:// or https:// address")]
    [InlineData("""{"otlpEndpoint":"ftp://h:4318"}""", "telemetry.otlpEndpoint", "is not an http:// or https:// address")]
    [InlineData("""{"otlpEndpoint":"http://h:4318","otlpProtocol":"http/json"}""", "telemetry.otlpProtocol", "use one of: http/protobuf, grpc")]
    [InlineData("""{"otlpEndpoint":"http://h:4318","sampleRatio":1.5}""", "telemetry.sampleRatio", "between 0 and 1")]
    public void Load_Invalid_ErrorNamesTheField(string telemetry, string field, string problem)
    {
        var error = Assert.Throws<TopologyException>(() => Load(JsonNode.Parse(telemetry)!.AsObject()));

        Assert.Contains(error.Errors, e => e.Field == field && e.Problem.Contains(problem, StringComparison.Ordinal));
    }

    private Strata.Topology.Topology Load(JsonObject? telemetry)
    {
        var json = TestTopology.DefaultJson();
        if (telemetry is not null)
        {
            json["telemetry"] = telemetry;
        }

        return TopologyLoader.Load(TestTopology.Write(json, _dir));
    }
}
