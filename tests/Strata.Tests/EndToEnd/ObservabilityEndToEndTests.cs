using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Strata.Tests.Common;
using Strata.Tests.Dns;
using Xunit.Abstractions;
using static Strata.Tests.Common.OtlpReceiver;

namespace Strata.Tests.EndToEnd;

/// <summary>
/// The default topology run with <c>telemetry.otlpEndpoint</c> set to a real OTLP/HTTP receiver in the test
/// (<see cref="OtlpReceiver"/>): a request through the VIP arrives there as one trace, load balancer to database; and
/// every node's /metrics labels every series with its node and tier.
/// </summary>
public sealed class ObservabilityEndToEndTests(ObservabilityEndToEndTests.TracedTopology topology, ITestOutputHelper output)
    : IClassFixture<ObservabilityEndToEndTests.TracedTopology>
{
    private static readonly TimeSpan ExportWait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task GetThroughTheVip_ConnectionPath_OneTraceFromTheLoadBalancerToTheDatabase()
    {
        using var home = await topology.Run.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, home.StatusCode);
        var app = EndToEndRun.Header(home, "X-Served-By");

        // The home page reads the messages: its trace has the app's database call.
        var trace = await TraceWithAsync(s => s.Instance == app && s.Name == "SELECT messages");

        // lb and web: the connection path's server span and its attempt; app: ASP.NET Core's, then the database call;
        // each the child of the one before.
        var chain = Chain(trace, s => s.Name == "SELECT messages");
        Assert.Equal(
            [("lb", "Strata.Proxy", SpanKind.Server), ("lb", "Strata.Proxy", SpanKind.Client), ("web", "Strata.Proxy", SpanKind.Server),
             ("web", "Strata.Proxy", SpanKind.Client), ("app", "Microsoft.AspNetCore", SpanKind.Server), ("app", "Strata.App", SpanKind.Client)],
            chain.Select(s => (s.Service, s.Scope, s.Kind)));
        Assert.Equal(app, chain[^1].Instance);
        Assert.Equal("", chain[0].ParentSpanId);
    }

    [Fact]
    public async Task PostThroughTheVip_KestrelAndYarp_OneTraceFromTheLoadBalancerToTheDatabase()
    {
        using var posted = await topology.Run.Client.PostAsJsonAsync(new Uri(topology.Run.Site, "/api/messages"), new { author = "ada", text = "traced" });
        Assert.Equal(HttpStatusCode.Created, posted.StatusCode);

        var trace = await TraceWithAsync(s => s.Name == "INSERT messages");

        // A body: the load balancer's Kestrel way in and YARP's client on both proxies.
        var chain = Chain(trace, s => s.Name == "INSERT messages");
        Assert.Equal(
            [("lb", SpanKind.Server), ("lb", SpanKind.Client), ("web", SpanKind.Server), ("web", SpanKind.Client), ("app", SpanKind.Server), ("app", SpanKind.Client)],
            chain.Select(s => (s.Service, s.Kind)));
        Assert.Equal("Microsoft.AspNetCore", chain[0].Scope);
    }

    [Fact]
    public async Task ClientTraceParent_ThroughTheVip_TheTraceContinues()
    {
        const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(topology.Run.Site, "/"));
        request.Headers.Add("traceparent", $"00-{TraceId}-00f067aa0ba902b7-01");
        using var response = await topology.Run.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var trace = await TraceWithAsync(s => s.TraceId == TraceId && s.Name == "SELECT messages");

        Assert.Equal("00f067aa0ba902b7", Chain(trace, s => s.Name == "SELECT messages")[0].ParentSpanId);
    }

    [Fact]
    public async Task Metrics_EveryNode_EverySeriesLabelledWithItsNodeAndTier_AndItsRolesSeries()
    {
        await Dig.QueryAsync(topology.Run.DnsPort, "www.foobar.com", "A", "+short");
        using (var home = await topology.Run.GetAsync("/"))
        {
            Assert.Equal(HttpStatusCode.OK, home.StatusCode);
        }

        string[] every = ["process_cpu_seconds_total", "process_start_time_seconds"];
        var expected = new Dictionary<string, string[]>
        {
            ["dns"] = ["strata_dns_queries_total", "strata_dns_responses_limited_total"],
            ["lb"] = ["strata_http_requests_total", "strata_http_request_duration_seconds_bucket", "strata_vrrp_master", "strata_vrrp_transitions_total", "strata_server_up", "strata_vip_connections"],
            ["web"] = ["strata_http_requests_total", "strata_server_up", "strata_requests_total"],
            ["app"] = ["strata_http_requests_total", "strata_http_request_duration_seconds_bucket", "strata_db_errors_total"],
        };
        var nodes = (await topology.Run.StatusAsync())["nodes"]!.AsArray();
        Assert.Equal(7, nodes.Count);
        foreach (var node in nodes)
        {
            var (name, role) = (node!["name"]!.GetValue<string>(), node["role"]!.GetValue<string>());
            var text = await topology.Run.Client.GetStringAsync(new Uri(new Uri(node["managementUrl"]!.GetValue<string>()), "/metrics"));

            MetricsText.AssertEveryLabelled(text, name, role);
            var names = MetricsText.Samples(text).Select(s => s.Name).ToHashSet();
            Assert.All(expected[role].Concat(every), series => Assert.True(names.Contains(series), $"{name}'s /metrics has no {series}"));
        }
    }

    /// <summary>The spans of the first trace that has a span matching <paramref name="match"/>, once they all arrived.</summary>
    private async Task<IReadOnlyList<ReceivedSpan>> TraceWithAsync(Func<ReceivedSpan, bool> match)
    {
        IReadOnlyList<ReceivedSpan> trace = [];
        var complete = await Eventually.TrueAsync(() =>
        {
            var spans = topology.Receiver.Spans;
            trace = spans.FirstOrDefault(match) is { } found ? [.. spans.Where(s => s.TraceId == found.TraceId)] : [];
            // Each node exports on its own schedule: wait until the root (no parent in the trace, or the client's) is in.
            return Task.FromResult(trace.Count > 0 && SafeChain(trace, match).Count >= 6);
        }, ExportWait);
        output.WriteLine(string.Join('\n', topology.Receiver.Spans.Select(s => s.ToString())));
        Assert.True(complete, $"no whole trace within {ExportWait.TotalSeconds} s; spans received: {topology.Receiver.Spans.Count}");
        Assert.Equal(0, topology.Receiver.Malformed);
        return trace;
    }

    /// <summary>From the root to the span <paramref name="match"/> finds, following parent ids.</summary>
    private static IReadOnlyList<ReceivedSpan> Chain(IReadOnlyList<ReceivedSpan> trace, Func<ReceivedSpan, bool> match)
    {
        var chain = SafeChain(trace, match);
        Assert.True(chain.Count > 0, "no such span");
        return chain;
    }

    private static List<ReceivedSpan> SafeChain(IReadOnlyList<ReceivedSpan> trace, Func<ReceivedSpan, bool> match)
    {
        var chain = new List<ReceivedSpan>();
        for (var span = trace.FirstOrDefault(match); span is not null && chain.Count < 20; span = trace.FirstOrDefault(s => s.SpanId == span.ParentSpanId))
        {
            chain.Insert(0, span);
        }

        return chain;
    }

    /// <summary>The receiver, and the default topology sending it traces, up once for the class.</summary>
    public sealed class TracedTopology : IAsyncLifetime
    {
        internal OtlpReceiver Receiver { get; private set; } = null!;

        internal EndToEndRun Run { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Receiver = await OtlpReceiver.StartAsync();
            Run = EndToEndRun.Create(json => json["telemetry"] = new JsonObject { ["otlpEndpoint"] = Receiver.Endpoint.ToString() });
            await Run.StrataAsync(TimeSpan.FromSeconds(120), "up", "--detach");
        }

        public async Task DisposeAsync()
        {
            await Run.DisposeAsync();
            await Receiver.DisposeAsync();
        }
    }
}
