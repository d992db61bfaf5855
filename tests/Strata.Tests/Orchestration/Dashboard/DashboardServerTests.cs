using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Strata.Hosting.Processes;
using Strata.Orchestration;
using Strata.Orchestration.Dashboard;
using Strata.Orchestration.Runs;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.Orchestration.Dashboard;

/// <summary>
/// The dashboard's server on loopback port of its own, over a copy of the default topology that is not running (no
/// process is started): its page and files, its state, its events, and the admin token in front of every action.
/// </summary>
public sealed class DashboardServerTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("strata-dashboard-").FullName;
    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };
    private DashboardServer? _server;
    private string _token = "";

    private Uri Url => new(_server!.Url);

    public async Task InitializeAsync()
    {
        var path = TestTopology.Write(TestTopology.DefaultJson(), _dir);
        _token = new RunDirectory(path).CreateAdminToken();
        var run = new DashboardRun(path, (topology, writer) => new Strata.Orchestration.Orchestrator(topology, _ => [], writer, writer));
        _server = await DashboardServer.StartAsync(run, new IPEndPoint(IPAddress.Loopback, FreePorts.Tcp()), TextWriter.Null);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _client.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Page_ServedFromTheBinary_UnderAStrictPolicy_RevalidatedByItsETag()
    {
        using var page = await _client.GetAsync(Url);
        using var script = await _client.GetAsync(new Uri(Url, "/dashboard.js"));

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html; charset=utf-8", page.Content.Headers.ContentType!.ToString());
        Assert.Contains("<script src=\"/dashboard.js\" defer></script>", await page.Content.ReadAsStringAsync());
        Assert.Equal(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            string.Join(", ", page.Headers.GetValues("Content-Security-Policy")));
        Assert.Equal("nosniff", string.Join(", ", page.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("text/javascript; charset=utf-8", script.Content.Headers.ContentType!.ToString());

        using var again = new HttpRequestMessage(HttpMethod.Get, new Uri(Url, "/dashboard.js"));
        again.Headers.IfNoneMatch.Add(script.Headers.ETag!);
        using var revalidated = await _client.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, revalidated.StatusCode);
    }

    [Fact]
    public async Task State_NothingRunning_EveryNodeOfTheTopologyDown()
    {
        var state = JsonNode.Parse(await _client.GetStringAsync(new Uri(Url, "/api/state")))!;

        Assert.False(state["running"]!.GetValue<bool>());
        Assert.Equal(
            ["dns", "lb-1", "lb-2", "web-1", "web-2", "app-1", "app-2"],
            state["nodes"]!.AsArray().Select(n => n!["name"]!.GetValue<string>()));
        Assert.All(state["nodes"]!.AsArray(), n => Assert.Equal("down", n!["state"]!.GetValue<string>()));
        Assert.Null(state["vip"]!["owner"]);
        Assert.Equal("database", state["database"]!["id"]!.GetValue<string>());
        // dns → vip, vip → 2 load balancers, 2 × 2 to the web nodes, 2 × 2 to the app nodes, 2 to the database.
        Assert.Equal(1 + 2 + 4 + 4 + 2, state["edges"]!.AsArray().Count);
        Assert.Equal(2, state["tierSizes"]!["web"]!.GetValue<int>());
    }

    [Fact]
    public async Task Events_FirstEventIsTheStateNow()
    {
        using var response = await _client.GetAsync(new Uri(Url, "/api/events"), HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("event: state", await reader.ReadLineAsync());
        var data = await reader.ReadLineAsync();
        Assert.StartsWith("data: {", data);
        Assert.Equal("foobar.com", JsonNode.Parse(data!["data: ".Length..])!["zone"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer not-the-token")]
    [InlineData("Basic dXNlcjpwYXNz")]
    public async Task Action_WithoutTheToken_401BeforeAnythingIsDone(string? authorization)
    {
        (string Path, HttpContent? Body)[] actions =
            [("/api/nodes/lb-1/kill", null), ("/api/scale", JsonContent.Create(new { tier = "web", size = 3 })), ("/api/scale", new StringContent("not json"))];
        foreach (var (path, body) in actions)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Url, path)) { Content = body };
            if (authorization is not null)
            {
                request.Headers.Authorization = AuthenticationHeaderValue.Parse(authorization);
            }

            using var response = await _client.SendAsync(request);

            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.ToString());
            Assert.DoesNotContain("not-the-token", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task Action_WithTheToken_IsTheOrchestratorsAnswer()
    {
        using var kill = await PostAsync("/api/nodes/lb-1/kill", null);
        using var scaleDb = await PostAsync("/api/scale", JsonContent.Create(new { tier = "db", size = 2 }));
        using var unknown = await PostAsync("/api/nodes/web-9/drain", null);
        using var noSuchAction = await PostAsync("/api/nodes/web-1/reboot", null);

        Assert.Equal(HttpStatusCode.Conflict, kill.StatusCode);
        Assert.Equal("strata: lb-1 is not running", (await kill.Content.ReadFromJsonAsync<ActionResult>())!.Output);
        Assert.Equal(HttpStatusCode.BadRequest, scaleDb.StatusCode);
        Assert.Contains("the database tier has one server", await scaleDb.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, noSuchAction.StatusCode);
    }

    [Fact]
    public async Task Log_LastLinesOfTheNodesLog_OnlyForItsNodes()
    {
        var log = new RunDirectory(Path.Combine(_dir, "strata.json")).LogPath("web-2");
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        await File.WriteAllLinesAsync(log, ["first", "second", "third"]);

        var tail = JsonNode.Parse(await _client.GetStringAsync(new Uri(Url, "/api/nodes/web-2/log?n=2")))!;
        using var stranger = await _client.GetAsync(new Uri(Url, "/api/nodes/passwd/log"));

        Assert.Equal(["second", "third"], tail["lines"]!.AsArray().Select(l => l!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.NotFound, stranger.StatusCode);
    }

    [Fact]
    public async Task AnyRequest_ForAnotherHost_Refused()
    {
        // A page of another site whose name DNS rebinding pointed at 127.0.0.1 would send its own name.
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(Url, "/api/state"));
        request.Headers.Host = "attacker.example";

        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    private async Task<HttpResponseMessage> PostAsync(string path, HttpContent? body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Url, path)) { Content = body };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        return await _client.SendAsync(request);
    }
}
