using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Strata.App.Bench;
using Strata.Tests.Data.Bench;

namespace Strata.Tests.App.Bench;

/// <summary>
/// The /bench/ endpoints against a real app node, checked as the TechEmpower benchmarks' verifier checks them:
/// exact bodies and content types, Server and Date headers, a Content-Length, the queries count's clamping, the
/// fortunes page, and updates that really reach the database.
/// </summary>
public sealed class BenchEndpointsTests(SqliteBenchAppNode node) : IClassFixture<SqliteBenchAppNode>
{
    private const string ExpectedFortunes =
        "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th><th>message</th></tr>"
        + "<tr><td>11</td><td>&lt;script&gt;alert(&quot;This should not be displayed in a browser alert box.&quot;);&lt;/script&gt;</td></tr>"
        + "<tr><td>4</td><td>A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1</td></tr>"
        + "<tr><td>5</td><td>A computer program does what you tell it to do, not what you want it to do.</td></tr>"
        + "<tr><td>2</td><td>A computer scientist is someone who fixes things that aren&#39;t broken.</td></tr>"
        + "<tr><td>8</td><td>A list is only as strong as its weakest link. — Donald Knuth</td></tr>"
        + "<tr><td>0</td><td>Additional fortune added at request time.</td></tr>"
        + "<tr><td>3</td><td>After enough decimal places, nobody gives a damn.</td></tr>"
        + "<tr><td>7</td><td>Any program that runs right is obsolete.</td></tr>"
        + "<tr><td>10</td><td>Computers make very fast, very accurate mistakes.</td></tr>"
        + "<tr><td>6</td><td>Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen</td></tr>"
        + "<tr><td>9</td><td>Feature: A bug with seniority.</td></tr>"
        + "<tr><td>1</td><td>fortune: No such file or directory</td></tr>"
        + "<tr><td>12</td><td>フレームワークのベンチマーク</td></tr>"
        + "</table></body></html>";

    private HttpClient Client => node.Client;

    /// <summary>GETs <paramref name="path"/>, checks what every benchmark response must carry, and returns the body.</summary>
    private async Task<string> GetAsync(string path, string contentType)
    {
        using var response = await Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(contentType, response.Content.Headers.ContentType?.ToString());
        Assert.NotEmpty(response.Headers.Server);
        var date = Assert.Single(response.Headers.GetValues("Date"));
        var sent = DateTimeOffset.ParseExact(date, "r", CultureInfo.InvariantCulture);
        Assert.InRange(sent, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.NotEqual(true, response.Headers.TransferEncodingChunked);
        Assert.Equal(body.Length, response.Content.Headers.ContentLength);
        return Encoding.UTF8.GetString(body);
    }

    private static void AssertWorld(JsonElement world)
    {
        Assert.Equal(JsonValueKind.Object, world.ValueKind);
        Assert.Equal(["id", "randomNumber"], world.EnumerateObject().Select(p => p.Name));
        Assert.InRange(world.GetProperty("id").GetInt32(), 1, BenchData.WorldRows);
        Assert.InRange(world.GetProperty("randomNumber").GetInt32(), 1, BenchData.WorldRows);
    }

    private static (int Id, int RandomNumber) World(JsonElement world) =>
        (world.GetProperty("id").GetInt32(), world.GetProperty("randomNumber").GetInt32());

    private async Task<Dictionary<int, int>> StoredWorldsAsync()
    {
        await using var connection = node.Database.OpenConnection();
        return await BenchData.ReadWorldsAsync(connection);
    }

    [Fact]
    public async Task Json_Get_AnswersHelloWorldObject()
    {
        Assert.Equal("""{"message":"Hello, World!"}""", await GetAsync("/bench/json", "application/json"));
    }

    [Fact]
    public async Task Plaintext_Get_AnswersHelloWorldText()
    {
        Assert.Equal("Hello, World!", await GetAsync("/bench/plaintext", "text/plain"));
    }

    [Fact]
    public async Task Db_Get_AnswersOneStoredRow()
    {
        var stored = await StoredWorldsAsync();
        var ids = new HashSet<int>();
        for (var i = 0; i < 20; i++)
        {
            using var json = JsonDocument.Parse(await GetAsync("/bench/db", "application/json"));

            AssertWorld(json.RootElement);
            var (id, number) = World(json.RootElement);
            Assert.Equal(stored[id], number);
            ids.Add(id);
        }

        // Random ids: twenty draws from 10,000 are very nearly never all the same.
        Assert.True(ids.Count > 1);
    }

    [Theory]
    [InlineData("", 1)]
    [InlineData("?queries=", 1)]
    [InlineData("?queries=0", 1)]
    [InlineData("?queries=-1", 1)]
    [InlineData("?queries=foo", 1)]
    [InlineData("?queries=1", 1)]
    [InlineData("?queries=20", 20)]
    [InlineData("?queries=500", 500)]
    [InlineData("?queries=501", 500)]
    [InlineData("?queries=99999999999", 500)]
    public async Task Queries_Count_AnswersThatManyStoredRowsClampedTo1To500(string query, int expected)
    {
        var stored = await StoredWorldsAsync();

        using var json = JsonDocument.Parse(await GetAsync("/bench/queries" + query, "application/json"));

        Assert.Equal(JsonValueKind.Array, json.RootElement.ValueKind);
        Assert.Equal(expected, json.RootElement.GetArrayLength());
        foreach (var world in json.RootElement.EnumerateArray())
        {
            AssertWorld(world);
            var (id, number) = World(world);
            Assert.Equal(stored[id], number);
        }
    }

    [Fact]
    public async Task Fortunes_Get_AnswersEveryFortuneAndTheAddedOneSortedAndEscaped()
    {
        Assert.Equal(ExpectedFortunes, await GetAsync("/bench/fortunes", "text/html; charset=utf-8"));
    }

    [Theory]
    [InlineData("", 1)]
    [InlineData("?queries=0", 1)]
    [InlineData("?queries=foo", 1)]
    [InlineData("?queries=20", 20)]
    [InlineData("?queries=501", 500)]
    public async Task Updates_Count_ChangesThatManyRowsAndAnswersThem(string query, int expected)
    {
        var before = await StoredWorldsAsync();

        using var json = JsonDocument.Parse(await GetAsync("/bench/updates" + query, "application/json"));

        Assert.Equal(JsonValueKind.Array, json.RootElement.ValueKind);
        Assert.Equal(expected, json.RootElement.GetArrayLength());
        var after = await StoredWorldsAsync();
        var updated = new Dictionary<int, int>();
        foreach (var world in json.RootElement.EnumerateArray())
        {
            AssertWorld(world);
            var (id, number) = World(world);
            updated.Add(id, number);
            Assert.Equal(number, after[id]);
            Assert.NotEqual(before[id], after[id]);
        }

        // Every other row is as it was.
        foreach (var (id, number) in updated)
        {
            before[id] = number;
        }

        Assert.Equal(before, after);
    }

    [Theory]
    [InlineData("0", 1)]
    [InlineData("-1", 1)]
    [InlineData("foo", 1)]
    [InlineData("", 1)]
    [InlineData(null, 1)]
    [InlineData("+7", 7)]
    [InlineData("500", 500)]
    [InlineData("501", 500)]
    [InlineData("2147483648", 500)]
    [InlineData("-2147483649", 1)]
    [InlineData("1.5", 1)]
    public void ParseQueries_Value_ClampsTo1To500(string? value, int expected)
    {
        Assert.Equal(expected, BenchEndpoints.ParseQueries(value));
    }
}
