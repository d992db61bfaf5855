using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Strata.Tests.Common;

namespace Strata.Tests.EndToEnd;

/// <summary>
/// <c>strata scale</c> on a running copy of the default topology (its file with comments): web and app grow to three
/// and shrink back to two under a steady load of GETs (a static file, a dynamic page) and POSTs through the VIP, with no
/// failed request; the new nodes serve; the file says each size, comments kept, and is as it was at the end.
/// </summary>
public sealed class ScaleEndToEndTests : IAsyncLifetime
{
    private readonly EndToEndRun _run = EndToEndRun.Create();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _run.DisposeAsync();

    [Fact]
    public async Task ScaleUpAndDown_UnderGetAndPostLoad_NoFailedRequest_TheFileKeepsItsComments()
    {
        // Comments where a person would write them: scale must keep them.
        var text = File.ReadAllText(_run.TopologyPath);
        text = "// The seed, scaled by the test.\n" + Regex.Replace(text, "\"nodes\": \\[", "\"nodes\": [\n    // the tier's servers", RegexOptions.None, TimeSpan.FromSeconds(1));
        File.WriteAllText(_run.TopologyPath, text);
        await _run.StrataAsync(TimeSpan.FromSeconds(120), "up", "--detach");

        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, 4).Select(client => LoadAsync(client, stop.Token)).ToList();
        await Task.Delay(500);

        var up = await _run.StrataAsync(TimeSpan.FromSeconds(120), "scale", "web=3", "app=3");
        Assert.Contains("web-3 in rotation", up.Output);
        Assert.Contains("app-3 in rotation", up.Output);
        var grown = File.ReadAllText(_run.TopologyPath);
        Assert.Contains("\"name\": \"web-3\"", grown);
        Assert.Contains("\"name\": \"app-3\"", grown);
        var status = await _run.StatusAsync();
        Assert.Equal("ready", EndToEndRun.State(status, "web-3"));
        Assert.Equal("ready", EndToEndRun.State(status, "app-3"));
        Assert.True(
            await Eventually.TrueAsync(async () => EndToEndRun.Header(await _run.GetAsync("/static/site.css"), "X-Served-By") == "web-3", TimeSpan.FromSeconds(10)),
            "web-3 never served");

        // The app nodes took web-3 among the proxies they believe (a reload): through it they still see the client.
        var seen = new List<string>();
        Assert.True(
            await Eventually.TrueAsync(async () =>
            {
                using var response = await _run.GetAsync("/api/client");
                var address = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!["address"]!.GetValue<string>();
                seen.Add($"{address} via {EndToEndRun.Header(response, "Via")}");
                return EndToEndRun.Header(response, "Via").Contains("web-3", StringComparison.Ordinal);
            }, TimeSpan.FromSeconds(10)),
            "no request went through web-3");
        Assert.All(seen, s => Assert.StartsWith("127.0.0.1 ", s));

        await _run.StrataAsync(TimeSpan.FromSeconds(120), "scale", "web=2", "app=2");
        await Task.Delay(500);
        await stop.CancelAsync();
        var results = await Task.WhenAll(load);

        var sent = results.Sum(r => r.Sent);
        var failed = results.SelectMany(r => r.Failed).ToList();
        Assert.True(sent >= 100, $"only {sent} requests were sent");
        Assert.True(failed.Count == 0, $"{failed.Count} of {sent} requests failed: {string.Join("; ", failed.Take(5))}");
        Assert.Equal(text, File.ReadAllText(_run.TopologyPath));
        var nodes = (await _run.StatusAsync())["nodes"]!.AsArray().Select(n => n!["name"]!.GetValue<string>()).ToList();
        Assert.DoesNotContain("web-3", nodes);
        Assert.DoesNotContain("app-3", nodes);

        // What cannot work is refused, with exit 2 and the file unchanged.
        var refused = await StrataCli.RunAsync("scale", "db=2", "-f", _run.TopologyPath);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("database", refused.Error);
        Assert.Equal(text, File.ReadAllText(_run.TopologyPath));
    }

    /// <summary>GETs of a static file and of the dynamic API, and POSTs of messages, in turn, until stopped.</summary>
    private async Task<(int Sent, List<string> Failed)> LoadAsync(int client, CancellationToken stop)
    {
        var failed = new List<string>();
        var sent = 0;
        for (var i = client; !stop.IsCancellationRequested; i++)
        {
            sent++;
            try
            {
                using var request = (i % 3) switch
                {
                    0 => new HttpRequestMessage(HttpMethod.Get, new Uri(_run.Site, "/static/site.css")),
                    1 => new HttpRequestMessage(HttpMethod.Get, new Uri(_run.Site, "/api/messages?limit=1")),
                    _ => new HttpRequestMessage(HttpMethod.Post, new Uri(_run.Site, "/api/messages")) { Content = JsonContent.Create(new { author = "scale", text = $"message {client}-{i}" }) },
                };
                request.Headers.Host = "www.foobar.com";
                using var response = await _run.Client.SendAsync(request, CancellationToken.None);
                if (!response.IsSuccessStatusCode)
                {
                    failed.Add($"{request.Method} {request.RequestUri!.PathAndQuery}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(CancellationToken.None)}");
                }
            }
            catch (HttpRequestException ex)
            {
                failed.Add(ex.Message);
            }
        }

        return (sent, failed);
    }
}
