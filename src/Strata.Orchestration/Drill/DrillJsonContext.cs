using System.Text.Json;
using System.Text.Json.Serialization;

namespace Strata.Orchestration.Drill;

/// <summary>The drill report as JSON (camelCase, indented), source-generated.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(DrillReport))]
internal sealed partial class DrillJsonContext : JsonSerializerContext;
