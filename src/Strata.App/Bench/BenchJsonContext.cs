using System.Text.Json;
using System.Text.Json.Serialization;
using Strata.Data.Bench;

namespace Strata.App.Bench;

/// <summary>The JSON test's object: a new one per request, as the benchmark requires.</summary>
/// <param name="Message">Always "Hello, World!".</param>
internal readonly record struct HelloMessage(string Message);

/// <summary>Source-generated JSON for the benchmark endpoints: camelCase (<c>message</c>, <c>id</c>, <c>randomNumber</c>).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(HelloMessage))]
[JsonSerializable(typeof(World))]
[JsonSerializable(typeof(World[]))]
internal sealed partial class BenchJsonContext : JsonSerializerContext;
