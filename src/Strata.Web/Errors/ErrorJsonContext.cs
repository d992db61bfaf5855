using System.Text.Json.Serialization;

namespace Strata.Web.Errors;

/// <summary>Source-generated JSON for the problem documents (no reflection on the error path).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(Problem))]
internal sealed partial class ErrorJsonContext : JsonSerializerContext;
