using System.Text.Json;
using System.Text.Json.Serialization;

namespace Strata.Proxy.Stats;

/// <summary>Source-generated camelCase JSON for the stats and admin answers.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(StatsReport))]
[JsonSerializable(typeof(ServerStats))]
internal sealed partial class ProxyJsonContext : JsonSerializerContext;
