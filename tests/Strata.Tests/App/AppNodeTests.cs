using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Strata.Data.Messages;
using Strata.Tests.Common;
using Strata.Tests.Data;
using Strata.Topology;
using TopologyModel = Strata.Topology.Topology;

namespace Strata.Tests.App;

public sealed class AppNodeTests : IAsyncLifetime
{
    private const string ServedBy = "X-Served-By";

    private readonly SqliteAppNode _app = new();

    private TempDatabase Database => _app.Database;

    private HttpClient Client => _app.Client;

    public Task InitializeAsync() => _app.InitializeAsync();

    public Task DisposeAsync() => _app.DisposeAsync();

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response) =>
        await response.Content.ReadFromJsonAsync<JsonElement>();

    private async Task<JsonElement> PostAsync(string author, string text)
    {
        using var response = await Client.PostAsJsonAsync("/api/messages", new { author, text });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await ReadJsonAsync(response);
    }

    private static async Task AssertValidationProblemAsync(HttpResponseMessage response, string field, string message)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await ReadJsonAsync(response);
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        var errors = problem.GetProperty("errors");
        Assert.Equal(message, Assert.Single(errors.GetProperty(field).EnumerateArray()).GetString());
    }

    [Fact]
    public async Task BenchmarkEndpointsOff_ByDefault_NoBenchRoutesAndNoBenchmarkTables()
    {
        using var json = await Client.GetAsync("/bench/json");
        Assert.Equal(HttpStatusCode.NotFound, json.StatusCode);

        await using var connection = new SqliteConnection($"Data Source={Database.Path}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name;";
        var tables = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            tables.Add(reader.GetString(0));
        }

        Assert.Equal(["messages", "schema_migrations"], tables.Where(t => !t.StartsWith("sqlite_", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task GetHome_Always_ServesHtmlPageWithAssetsAndForm()
    {
        using var response = await Client.GetAsync("/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        var html = await response.Content.ReadAsStringAsync();
        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
        Assert.Contains("<meta charset=\"utf-8\">", html, StringComparison.Ordinal);
        Assert.Contains("<title>foobar.com</title>", html, StringComparison.Ordinal);
        Assert.Contains("href=\"/static/site.css\"", html, StringComparison.Ordinal);
        Assert.Contains("src=\"/static/site.js\"", html, StringComparison.Ordinal);
        Assert.Contains("src=\"/static/logo.png\"", html, StringComparison.Ordinal);
        Assert.Contains("<form id=\"guestbook-form\" method=\"post\" action=\"/api/messages\">", html, StringComparison.Ordinal);
        Assert.Contains("name=\"author\"", html, StringComparison.Ordinal);
        Assert.Contains("name=\"text\"", html, StringComparison.Ordinal);
        Assert.Contains("<button type=\"submit\">", html, StringComparison.Ordinal);
        Assert.Contains("No messages yet", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetHome_WithMessages_ListsThemNewestFirstAndEncoded()
    {
        await PostAsync("alice", "first post");
        await PostAsync("<script>alert('author')</script>", "<script>alert(\"xss\")</script> & <b>bold</b>");

        var html = await Client.GetStringAsync("/");

        Assert.DoesNotContain("<script>alert", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>bold</b>", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(&#x27;author&#x27;)&lt;/script&gt;", html, StringComparison.Ordinal);
        Assert.Contains("first post", html, StringComparison.Ordinal);
        Assert.True(html.IndexOf("&lt;b&gt;bold", StringComparison.Ordinal) < html.IndexOf("first post", StringComparison.Ordinal));
        Assert.Contains("<time datetime=\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("No messages yet", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetHome_MoreThanTwentyMessages_ListsLatestTwenty()
    {
        for (var i = 1; i <= 21; i++)
        {
            await PostAsync("alice", $"message #{i}.");
        }

        var html = await Client.GetStringAsync("/");

        Assert.Contains("message #21.", html, StringComparison.Ordinal);
        Assert.Contains("message #2.", html, StringComparison.Ordinal);
        Assert.DoesNotContain("message #1.", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostMessage_Valid_Returns201WithLocationAndStoredMessage()
    {
        await PostAsync("alice", "older");

        using var response = await Client.PostAsync("/api/messages", Json("""{ "author": "  bob  ", "text": "Hello, wörld 🎉" }"""));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var created = await ReadJsonAsync(response);
        var id = created.GetProperty("id").GetInt64();
        Assert.Equal($"/api/messages/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal("bob", created.GetProperty("author").GetString());
        Assert.Equal("Hello, wörld 🎉", created.GetProperty("text").GetString());
        var createdAt = created.GetProperty("createdAt").GetDateTimeOffset();
        Assert.InRange(createdAt, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(5));

        var list = await Client.GetFromJsonAsync<JsonElement>("/api/messages");
        Assert.Equal(2, list.GetArrayLength());
        Assert.Equal(created.GetRawText(), list[0].GetRawText());
        Assert.Equal("older", list[1].GetProperty("text").GetString());

        var fetched = await Client.GetFromJsonAsync<JsonElement>(response.Headers.Location);
        Assert.Equal(created.GetRawText(), fetched.GetRawText());
    }

    [Theory]
    [InlineData("""{ "text": "hi" }""", "author", "author is required")]
    [InlineData("""{ "author": null, "text": "hi" }""", "author", "author is required")]
    [InlineData("""{ "author": " \t\n ", "text": "hi" }""", "author", "author is required")]
    [InlineData("""{ "author": "alice" }""", "text", "text is required")]
    [InlineData("""{ "author": "alice", "text": "   " }""", "text", "text is required")]
    [InlineData("""{ "author": 42, "text": "hi" }""", "author", "author must be a string of valid Unicode text")]
    [InlineData("""{ "author": "alice", "text": ["hi"] }""", "text", "text must be a string of valid Unicode text")]
    [InlineData("""{ "author": "alice", "text": "\ud800" }""", "text", "text must be a string of valid Unicode text")]
    public async Task PostMessage_InvalidField_Returns400ProblemNamingField(string json, string field, string message)
    {
        using var response = await Client.PostAsync("/api/messages", Json(json));

        await AssertValidationProblemAsync(response, field, message);
    }

    [Fact]
    public async Task PostMessage_FieldsTooLong_Returns400ProblemForEach()
    {
        using var response = await Client.PostAsJsonAsync("/api/messages", new { author = new string('a', 65), text = new string('t', 1001) });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = (await ReadJsonAsync(response)).GetProperty("errors");
        Assert.Equal("author must be at most 64 characters", Assert.Single(errors.GetProperty("author").EnumerateArray()).GetString());
        Assert.Equal("text must be at most 1000 characters", Assert.Single(errors.GetProperty("text").EnumerateArray()).GetString());
        Assert.Empty(await Client.GetFromJsonAsync<JsonElement[]>("/api/messages") ?? []);
    }

    [Fact]
    public async Task PostMessage_AtMaximumLengths_Returns201()
    {
        // Counted in characters: 1000 emoji are 2000 UTF-16 code units but 1000 characters.
        var text = string.Concat(Enumerable.Repeat("🎉", 1000));

        var created = await PostAsync(new string('a', 64), text);

        Assert.Equal(text, created.GetProperty("text").GetString());
    }

    [Theory]
    [InlineData("{ \"author\": \"alice\", ", "application/json")]
    [InlineData("", "application/json")]
    [InlineData("null", "application/json")]
    [InlineData("[]", "application/json")]
    [InlineData("{ \"author\": \"alice\", \"text\": \"hi\" }", "text/plain")]
    public async Task PostMessage_BadBody_Returns400ProblemForBody(string body, string contentType)
    {
        using var content = new StringContent(body, Encoding.UTF8, contentType);

        using var response = await Client.PostAsync("/api/messages", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = (await ReadJsonAsync(response)).GetProperty("errors");
        Assert.False(string.IsNullOrWhiteSpace(Assert.Single(errors.GetProperty("body").EnumerateArray()).GetString()));
    }

    [Fact]
    public async Task PostMessage_WrongContentType_SaysSo()
    {
        using var response = await Client.PostAsync("/api/messages", new StringContent("{}", Encoding.UTF8, "text/plain"));

        await AssertValidationProblemAsync(response, "body", "Content-Type must be application/json (or a form from the home page)");
    }

    [Fact]
    public async Task GetMessages_Before_PagesBackwards()
    {
        var ids = new List<long>();
        for (var i = 1; i <= 5; i++)
        {
            using var posted = await Client.PostAsync("/api/messages", Json($$"""{ "author": "a", "text": "m{{i}}" }"""));
            ids.Add((await ReadJsonAsync(posted)).GetProperty("id").GetInt64());
        }

        var page = await Client.GetFromJsonAsync<JsonElement>($"/api/messages?before={ids[3]}&limit=2");

        Assert.Equal(["m3", "m2"], page.EnumerateArray().Select(m => m.GetProperty("text").GetString()));
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("0")]
    [InlineData("-4")]
    public async Task GetMessages_BadBefore_400ForBefore(string before)
    {
        using var response = await Client.GetAsync($"/api/messages?before={before}");

        await AssertValidationProblemAsync(response, "before", "before must be the id of a message (a whole number from 1)");
    }

    [Fact]
    public async Task DeleteMessage_WithoutAnAdminTokenConfigured_403()
    {
        using var response = await Client.DeleteAsync("/api/messages/1");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task DeleteMessage_TheAdminTokenDeletes_OthersAre401()
    {
        const string token = "an-admin-token-of-some-length";
        var node = TestTopology.Node("app-2", NodeRole.App);
        await using var host = await AppTestHost.StartAsync(
            TestTopology.Create(appNodes: [node], webRoot: Database.Directory, databasePath: Database.Path) with { AdminToken = token }, node);
        using var posted = await host.Client.PostAsync("/api/messages", Json("""{ "author": "mallory", "text": "spam" }"""));
        var id = (await ReadJsonAsync(posted)).GetProperty("id").GetInt64();

        using var anonymous = await host.Client.DeleteAsync($"/api/messages/{id}");
        using var wrong = new HttpRequestMessage(HttpMethod.Delete, $"/api/messages/{id}") { Headers = { { "Authorization", "Bearer not-the-token" } } };
        using var wrongResponse = await host.Client.SendAsync(wrong);
        using var right = new HttpRequestMessage(HttpMethod.Delete, $"/api/messages/{id}") { Headers = { { "Authorization", "Bearer " + token } } };
        using var rightResponse = await host.Client.SendAsync(right);
        using var again = new HttpRequestMessage(HttpMethod.Delete, $"/api/messages/{id}") { Headers = { { "Authorization", "Bearer " + token } } };
        using var againResponse = await host.Client.SendAsync(again);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongResponse.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, rightResponse.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, againResponse.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.GetAsync($"/api/messages/{id}")).StatusCode);
    }

    [Fact]
    public async Task PostForm_WithoutTheHomePagesAntiforgeryToken_400AndNothingStored()
    {
        using var content = new FormUrlEncodedContent([new("author", "mallory"), new("text", "cross-site")]);

        using var response = await Client.PostAsync("/api/messages", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("The form's antiforgery token is missing or invalid", (await ReadJsonAsync(response)).GetProperty("title").GetString());
        Assert.DoesNotContain("mallory", await Client.GetStringAsync("/api/messages"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostForm_WithTheHomePagesToken_StoredAndRedirectedHome()
    {
        // A browser without JavaScript: the page sets the cookie and renders the token; the form posts both.
        using var browser = new HttpClient(new SocketsHttpHandler { UseProxy = false, UseCookies = true, CookieContainer = new System.Net.CookieContainer(), AllowAutoRedirect = false })
        {
            BaseAddress = Client.BaseAddress,
        };
        var page = await browser.GetStringAsync("/");
        var token = System.Text.RegularExpressions.Regex.Match(page, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
        Assert.False(string.IsNullOrEmpty(token), "no antiforgery field in the form:\n" + page);

        using var content = new FormUrlEncodedContent([new("author", "dora"), new("text", "no js <b>here</b>"), new("__RequestVerificationToken", System.Net.WebUtility.HtmlDecode(token))]);
        using var response = await browser.PostAsync("/api/messages", content);

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal("/", response.Headers.Location?.OriginalString);
        Assert.Contains("no js &lt;b&gt;here&lt;/b&gt;", await browser.GetStringAsync("/"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostMessage_BodyTooLarge_Returns413Problem()
    {
        using var response = await Client.PostAsJsonAsync("/api/messages", new { author = "alice", text = new string('x', 100_000) });

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task GetMessages_Limit_ReturnsThatManyNewestFirst()
    {
        for (var i = 1; i <= 5; i++)
        {
            await PostAsync("alice", $"message {i}");
        }

        var latest = await Client.GetFromJsonAsync<JsonElement[]>("/api/messages?limit=3");

        Assert.Equal(["message 5", "message 4", "message 3"], latest!.Select(m => m.GetProperty("text").GetString()));
    }

    [Fact]
    public async Task GetMessages_NoLimit_ReturnsLatestFifty()
    {
        var store = MessageStores.Create(Database.Spec);
        for (var i = 1; i <= 55; i++)
        {
            await store.AddAsync("alice", $"message {i}", CancellationToken.None);
        }

        var latest = await Client.GetFromJsonAsync<JsonElement[]>("/api/messages");

        Assert.Equal(50, latest!.Length);
        Assert.Equal("message 55", latest[0].GetProperty("text").GetString());
        Assert.Equal("message 6", latest[^1].GetProperty("text").GetString());
    }

    [Theory]
    [InlineData("0")]
    [InlineData("101")]
    [InlineData("-1")]
    [InlineData("abc")]
    [InlineData("1.5")]
    [InlineData("")]
    [InlineData("10&limit=20")]
    public async Task GetMessages_BadLimit_Returns400Problem(string limit)
    {
        using var response = await Client.GetAsync($"/api/messages?limit={limit}");

        await AssertValidationProblemAsync(response, "limit", "limit must be a whole number from 1 to 100");
    }

    [Fact]
    public async Task GetMessage_UnknownId_Returns404Problem()
    {
        using var response = await Client.GetAsync("/api/messages/12345");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task GetReady_DatabaseAnswers_Returns200WithDatabaseCheck()
    {
        using var response = await Client.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await ReadJsonAsync(response);
        Assert.Equal("app-1", body.GetProperty("node").GetString());
        Assert.True(body.GetProperty("ready").GetBoolean());
        Assert.True(body.GetProperty("checks").GetProperty("database").GetProperty("ready").GetBoolean());
    }

    [Theory]
    [InlineData("GET", "/")]
    [InlineData("GET", "/healthz")]
    [InlineData("GET", "/readyz")]
    [InlineData("GET", "/api/messages")]
    [InlineData("GET", "/api/messages?limit=0")]
    [InlineData("POST", "/api/messages")]
    [InlineData("GET", "/no/such/page")]
    [InlineData("DELETE", "/api/messages")]
    public async Task AnyResponse_Always_CarriesServedBy(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);

        using var response = await Client.SendAsync(request);

        Assert.Equal("app-1", Assert.Single(response.Headers.GetValues(ServedBy)));
    }

    [Fact]
    public async Task Metrics_RequestsLatencyAndDatabaseErrors_LabelledWithNodeAndTier()
    {
        using (var home = await Client.GetAsync("/"))
        {
            Assert.Equal(HttpStatusCode.OK, home.StatusCode);
        }

        SqliteConnection.ClearAllPools();
        foreach (var file in Directory.GetFiles(Path.GetDirectoryName(Database.Path)!))
        {
            File.Delete(file);
        }

        Directory.CreateDirectory(Database.Path);
        using (var failed = await Client.GetAsync("/"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        }

        using var ready = await Client.GetAsync("/readyz");
        var text = await Client.GetStringAsync("/metrics");

        MetricsText.AssertEveryLabelled(text, "app-1", "app");
        // The management routes (/readyz, /metrics) are not the site's requests.
        Assert.Equal(1, MetricsText.Value(text, "strata_http_requests_total{code=\"2xx\""));
        Assert.Equal(1, MetricsText.Value(text, "strata_http_requests_total{code=\"5xx\""));
        Assert.Equal(2, MetricsText.Value(text, "strata_http_request_duration_seconds_count"));
        Assert.Equal(1, MetricsText.Value(text, "strata_db_errors_total"));
        Assert.DoesNotContain("strata_db_pool_", text, StringComparison.Ordinal);
        Assert.Contains("process_cpu_seconds_total", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnyRequest_DatabaseGone_Returns503ProblemAndNotReady()
    {
        // Replace the database file with a directory: every new connection now fails to open.
        SqliteConnection.ClearAllPools();
        foreach (var file in Directory.GetFiles(Path.GetDirectoryName(Database.Path)!))
        {
            File.Delete(file);
        }

        Directory.CreateDirectory(Database.Path);

        foreach (var path in new[] { "/", "/api/messages" })
        {
            using var response = await Client.GetAsync(path);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("app-1", Assert.Single(response.Headers.GetValues(ServedBy)));
            var body = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
            Assert.DoesNotContain(" at ", body, StringComparison.Ordinal);
            Assert.Equal("The database is unavailable", JsonDocument.Parse(body).RootElement.GetProperty("title").GetString());
        }

        using var ready = await Client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var check = (await ReadJsonAsync(ready)).GetProperty("checks").GetProperty("database");
        Assert.False(check.GetProperty("ready").GetBoolean());
    }

    [Fact]
    public async Task PostMessage_DatabaseLockedByAnotherProcess_Returns503InsteadOfHanging()
    {
        await PostAsync("alice", "before the lock");
        using var locker = Database.OpenConnection();
        using var transaction = locker.BeginTransaction(deferred: false);
        using (var insert = locker.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO messages (author, text, created_at) VALUES ('locker', 'uncommitted', 0);";
            insert.ExecuteNonQuery();
        }

        var stopwatch = Stopwatch.StartNew();
        using var response = await Client.PostAsJsonAsync("/api/messages", new { author = "bob", text = "blocked" });
        stopwatch.Stop();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(25));

        // Readers are not blocked by a writer in WAL mode: the committed message is still listed, the other is not.
        var list = await Client.GetFromJsonAsync<JsonElement[]>("/api/messages");
        Assert.Equal("before the lock", Assert.Single(list!).GetProperty("text").GetString());
        using var ready = await Client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [Fact]
    public async Task TwoNodes_SharingOneFile_SeeEachOthersMessages()
    {
        using var database = new TempDatabase();
        var one = TestTopology.Node("app-1", NodeRole.App);
        var two = TestTopology.Node("app-2", NodeRole.App);
        var topology = TestTopology.Create(appNodes: [one, two], webRoot: database.Directory, databasePath: database.Path);

        // Start both at once: both initialize the same new file concurrently.
        var starting = new[] { AppTestHost.StartAsync(topology, one), AppTestHost.StartAsync(topology, two) };
        try
        {
            var hosts = await Task.WhenAll(starting);
            var clientOne = hosts[0].Client;
            var clientTwo = hosts[1].Client;

            using var fromOne = await clientOne.PostAsJsonAsync("/api/messages", new { author = "alice", text = "via app-1" });
            Assert.Equal("app-1", Assert.Single(fromOne.Headers.GetValues(ServedBy)));
            using var fromTwo = await clientTwo.PostAsJsonAsync("/api/messages", new { author = "bob", text = "via app-2" });
            Assert.Equal("app-2", Assert.Single(fromTwo.Headers.GetValues(ServedBy)));

            foreach (var client in new[] { clientOne, clientTwo })
            {
                var list = await client.GetFromJsonAsync<JsonElement[]>("/api/messages");
                Assert.Equal(["via app-2", "via app-1"], list!.Select(m => m.GetProperty("text").GetString()));
                var html = await client.GetStringAsync("/");
                Assert.Contains("via app-1", html, StringComparison.Ordinal);
                Assert.Contains("via app-2", html, StringComparison.Ordinal);
            }
        }
        finally
        {
            foreach (var start in starting)
            {
                if (start.IsCompletedSuccessfully)
                {
                    await (await start).DisposeAsync();
                }
            }
        }
    }

    [Fact]
    public async Task GetHome_NoFrameOptionsOfItsOwn_TheWebTiersDecide()
    {
        using var response = await Client.GetAsync("/");

        // Antiforgery would add X-Frame-Options: SAMEORIGIN, which the web tier keeps over its own DENY.
        Assert.False(response.Headers.Contains("X-Frame-Options"));
    }

    [Fact]
    public async Task GetClient_FromAClient_ItsAddressWhateverItClaims()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/client");
        request.Headers.Add("X-Forwarded-For", "6.6.6.6");
        request.Headers.Add("X-Forwarded-Proto", "https");

        using var response = await Client.SendAsync(request);

        var client = await ReadJsonAsync(response);
        Assert.Equal(("127.0.0.1", "http"), (client.GetProperty("address").GetString(), client.GetProperty("scheme").GetString()));
    }

    [Fact]
    public async Task GetClient_FromAWebNode_TheChainReadBackPastTheProxiesInFront()
    {
        // Every node on 127.0.0.1: the peer is a web node, and so is the load balancer the chain names before the client.
        var node = TestTopology.Node("app-2", NodeRole.App);
        var topology = TestTopology.Create(
            loadBalancers: [TestTopology.Node("lb-1", NodeRole.LoadBalancer, IPEndPoint.Parse("127.0.0.1:1"))],
            webNodes: [TestTopology.Node("web-1", NodeRole.Web, IPEndPoint.Parse("127.0.0.1:2"))],
            appNodes: [node],
            webRoot: Database.Directory,
            databasePath: Database.Path);
        await using var host = await AppTestHost.StartAsync(topology, node);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/client");
        request.Headers.Add("X-Forwarded-For", "6.6.6.6, 203.0.113.7, 127.0.0.1");
        request.Headers.Add("X-Forwarded-Proto", "https");

        using var response = await host.Client.SendAsync(request);

        var client = await ReadJsonAsync(response);
        Assert.Equal(("203.0.113.7", "https"), (client.GetProperty("address").GetString(), client.GetProperty("scheme").GetString()));
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    public async Task Management_OnTheSharedAddress_AnsweredDirectlyNotThroughAProxy(string path)
    {
        using var direct = await Client.GetAsync(path);
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("Via", "1.1 web-1");
        using var proxied = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, direct.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, proxied.StatusCode);
    }

    [Fact]
    public void Build_NodeNotInTopology_ThrowsArgumentException()
    {
        TopologyModel topology = TestTopology.Create(appNodes: [_app.Node], webRoot: Database.Directory, databasePath: Database.Path);

        var error = Assert.Throws<ArgumentException>(() => Strata.App.AppNode.Build(topology, TestTopology.Node("app-9", NodeRole.App)));

        Assert.Contains("app-9", error.Message, StringComparison.Ordinal);
    }
}
