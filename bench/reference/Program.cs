// The bar Strata's app node is measured against (bench/compare.py, scenario "app"; docs/benchmarks.md): a plain ASP.NET
// Core minimal-API app written the way TechEmpower's aspnetcore entries are ("Minimal" for the endpoints, "Platform"'s
// raw ADO.NET for the database), serving the same six test types at the same paths with the same answers as Strata's
// BenchEndpoints, from the same tables. Nothing else runs in its pipeline: no middleware, no logging.
//
//   Reference ADDRESS:PORT --sqlite PATH            the bench.db file Strata's app node migrated (World, Fortune)
//   Reference ADDRESS:PORT --mysql CONNECTION       a MySQL/MariaDB database with those tables
//
// REFERENCE_SQLITE or REFERENCE_MYSQL in the environment stand for the option.
using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Reference;

if (args.Length is not (1 or 3) || !IPEndPoint.TryParse(args[0], out var address) || address.Port == 0)
{
    return Usage("the first argument is the address:port to listen on");
}

var (option, value) = args.Length == 3
    ? (args[1], args[2])
    : Environment.GetEnvironmentVariable("REFERENCE_MYSQL") is { Length: > 0 } mysql ? ("--mysql", mysql)
    : ("--sqlite", Environment.GetEnvironmentVariable("REFERENCE_SQLITE") ?? "");
Db db = option switch
{
    "--sqlite" when value.Length > 0 => new SqliteDb(value),
    "--mysql" when value.Length > 0 => new MySqlDb(value),
    _ => null!,
};
if (db is null)
{
    return Usage("give the database: --sqlite PATH or --mysql CONNECTION (or REFERENCE_SQLITE / REFERENCE_MYSQL)");
}

var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
// No logging, as the TechEmpower entries: nothing is asked of the app but its answers.
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(address));
builder.Services.AddSingleton(db);
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, ReferenceJsonContext.Default));

var app = builder.Build();
app.MapGet("/bench/plaintext", () => "Hello, World!");
app.MapGet("/bench/json", () => new JsonMessage("Hello, World!"));
app.MapGet("/bench/db", (Db db) => db.LoadSingleQueryRow());
app.MapGet("/bench/queries", (Db db, string? queries) => db.LoadMultipleQueriesRows(Queries.Parse(queries)));
app.MapGet("/bench/fortunes", async (Db db) => new FortunesResult(await db.LoadFortunesRows()));
app.MapGet("/bench/updates", (Db db, string? queries) => db.LoadMultipleUpdatesRows(Queries.Parse(queries)));
await app.RunAsync();
return 0;

static int Usage(string why)
{
    Console.Error.WriteLine($"reference: {why}\nusage: Reference ADDRESS:PORT (--sqlite PATH | --mysql CONNECTION)");
    return 2;
}

namespace Reference
{
    /// <summary>The json test's object, new per request.</summary>
    /// <param name="Message">"Hello, World!".</param>
    public readonly record struct JsonMessage(string Message);

    /// <summary>A row of World.</summary>
    /// <param name="Id">1 to 10000.</param>
    /// <param name="RandomNumber">1 to 10000.</param>
    public readonly record struct World(int Id, int RandomNumber);

    /// <summary>A row of Fortune.</summary>
    /// <param name="Id">Its id (0 for the one added at request time).</param>
    /// <param name="Message">Not escaped.</param>
    public sealed record Fortune(int Id, string Message);

    /// <summary>Source-generated JSON, camelCase: <c>message</c>, <c>id</c>, <c>randomNumber</c>.</summary>
    [JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
    [JsonSerializable(typeof(JsonMessage))]
    [JsonSerializable(typeof(World))]
    [JsonSerializable(typeof(World[]))]
    internal sealed partial class ReferenceJsonContext : JsonSerializerContext;

    /// <summary>The queries and updates tests' count.</summary>
    internal static class Queries
    {
        /// <summary>1..500: missing, not a number or below 1 is 1; above 500 (even past int's range) is 500.</summary>
        public static int Parse(string? value) =>
            int.TryParse(value, out var count) ? Math.Clamp(count, 1, 500)
            : value is { Length: > 0 } && value.TrimStart('+').Length > 0 && value.TrimStart('+').All(char.IsAsciiDigit) ? 500
            : 1;
    }
}
