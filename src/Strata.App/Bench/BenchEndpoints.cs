using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Strata.Data.Bench;

namespace Strata.App.Bench;

/// <summary>
/// The six test types of the TechEmpower Framework Benchmarks under <see cref="Path"/>, as their requirements say
/// (https://github.com/TechEmpower/FrameworkBenchmarks/wiki/Project-Information-Framework-Tests-Overview): json,
/// plaintext, db, queries, fortunes, updates. Every body is produced per request and sent with a Content-Length;
/// Kestrel adds Date and Server (its AddServerHeader default, which Strata leaves on). A database failure
/// propagates as a DbException, which <see cref="Database.DatabaseExceptionHandler"/> turns into 503.
/// </summary>
internal static class BenchEndpoints
{
    public const string Path = "/bench";

    /// <summary>World ids run from 1 to this, and so do their numbers.</summary>
    public const int WorldRows = 10000;

    /// <summary>The most rows the queries and updates tests handle per request.</summary>
    public const int MaxQueries = 500;

    private const string HelloWorld = "Hello, World!";
    private const string JsonContentType = "application/json";
    private const string PlainTextContentType = "text/plain";
    private const string HtmlContentType = "text/html; charset=utf-8";

    private static readonly byte[] s_plainText = Encoding.UTF8.GetBytes(HelloWorld);

    public static IEndpointRouteBuilder MapBenchEndpoints(this IEndpointRouteBuilder endpoints)
    {
        // The store is a singleton: taken from the node's services once, on first use, rather than per request from
        // RequestServices, which would make a service scope for every request only to find it.
        var services = endpoints.ServiceProvider;
        var stores = new Lazy<IWorldStore>(services.GetRequiredService<IWorldStore>);
        var bench = endpoints.MapGroup(Path);
        bench.MapGet("/json", new RequestDelegate(JsonAsync));
        bench.MapGet("/plaintext", new RequestDelegate(PlainTextAsync));
        bench.MapGet("/db", new RequestDelegate(context => SingleQueryAsync(context, stores.Value)));
        bench.MapGet("/queries", new RequestDelegate(context => MultipleQueriesAsync(context, stores.Value)));
        bench.MapGet("/fortunes", new RequestDelegate(context => FortunesAsync(context, stores.Value)));
        bench.MapGet("/updates", new RequestDelegate(context => UpdatesAsync(context, stores.Value)));
        return endpoints;
    }

    /// <summary>
    /// The queries and updates tests' count: a whole number clamped to 1..<see cref="MaxQueries"/>; missing, empty,
    /// not a number, or below 1 reads as 1; above the maximum (even past int's range) as the maximum.
    /// </summary>
    internal static int ParseQueries(string? value)
    {
        if (int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var count))
        {
            return Math.Clamp(count, 1, MaxQueries);
        }

        // A whole number too large for int is still a number above the maximum.
        var digits = value.AsSpan().TrimStart('+');
        return !digits.IsEmpty && !digits.ContainsAnyExceptInRange('0', '9') ? MaxQueries : 1;
    }

    /// <summary>The page of <paramref name="fortunes"/>, in their order, exactly as the fortunes test specifies, each message HTML-escaped.</summary>
    internal static string RenderFortunes(List<Fortune> fortunes)
    {
        var html = new StringBuilder(2048);
        html.Append("<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th><th>message</th></tr>");
        using var writer = new StringWriter(html, CultureInfo.InvariantCulture);
        foreach (var fortune in fortunes)
        {
            html.Append("<tr><td>").Append(fortune.Id).Append("</td><td>");
            WebUtility.HtmlEncode(fortune.Message, writer);
            html.Append("</td></tr>");
        }

        return html.Append("</table></body></html>").ToString();
    }

    private static Task JsonAsync(HttpContext context) =>
        WriteJsonAsync(context, new HelloMessage(HelloWorld), BenchJsonContext.Default.HelloMessage);

    private static Task PlainTextAsync(HttpContext context) => WriteAsync(context, PlainTextContentType, s_plainText);

    private static async Task SingleQueryAsync(HttpContext context, IWorldStore store)
    {
        var world = await store.GetWorldAsync(RandomId(), context.RequestAborted);
        await WriteJsonAsync(context, world, BenchJsonContext.Default.World);
    }

    private static async Task MultipleQueriesAsync(HttpContext context, IWorldStore store)
    {
        var ids = new int[ParseQueries(context.Request.Query["queries"])];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = RandomId();
        }

        var worlds = await store.GetWorldsAsync(ids, context.RequestAborted);
        await WriteJsonAsync(context, worlds, BenchJsonContext.Default.WorldArray);
    }

    private static async Task FortunesAsync(HttpContext context, IWorldStore store)
    {
        var fortunes = await store.GetFortunesAsync(context.RequestAborted);
        fortunes.Add(new Fortune(0, "Additional fortune added at request time."));
        fortunes.Sort(static (a, b) => string.CompareOrdinal(a.Message, b.Message));
        await WriteAsync(context, HtmlContentType, Encoding.UTF8.GetBytes(RenderFortunes(fortunes)));
    }

    private static async Task UpdatesAsync(HttpContext context, IWorldStore store)
    {
        var worlds = await store.GetWorldsAsync(DistinctRandomIds(ParseQueries(context.Request.Query["queries"])), context.RequestAborted);
        for (var i = 0; i < worlds.Length; i++)
        {
            // A number that differs from the stored one, so every update really changes its row.
            var number = RandomId();
            while (number == worlds[i].RandomNumber)
            {
                number = RandomId();
            }

            worlds[i] = worlds[i] with { RandomNumber = number };
        }

        await store.UpdateWorldsAsync(worlds, context.RequestAborted);
        await WriteJsonAsync(context, worlds, BenchJsonContext.Default.WorldArray);
    }

    private static int RandomId() => Random.Shared.Next(1, WorldRows + 1);

    /// <summary>
    /// Ids drawn at random without repeats: one UPDATE then sets each row once, and the answer matches what is stored.
    /// </summary>
    private static int[] DistinctRandomIds(int count)
    {
        var ids = new int[count];
        var seen = new HashSet<int>(count);
        for (var i = 0; i < count;)
        {
            var id = RandomId();
            if (seen.Add(id))
            {
                ids[i++] = id;
            }
        }

        return ids;
    }

    private static Task WriteJsonAsync<T>(HttpContext context, T value, JsonTypeInfo<T> typeInfo) =>
        WriteAsync(context, JsonContentType, JsonSerializer.SerializeToUtf8Bytes(value, typeInfo));

    private static Task WriteAsync(HttpContext context, string contentType, byte[] body)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = contentType;
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, 0, body.Length, context.RequestAborted);
    }
}
