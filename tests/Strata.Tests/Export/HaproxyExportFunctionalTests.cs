using System.Net;
using System.Net.Sockets;
using Strata.Export;
using Strata.Export.Haproxy;
using Strata.Hosting.Processes;
using Strata.Tests.Common;
using Strata.Topology;
using Xunit.Abstractions;

namespace Strata.Tests.Export;

/// <summary>
/// The exported haproxy.cfg run by the real HAProxy (foreground -db, its own PID, stopped by it) on a loopback VIP in
/// front of two <see cref="FakeUpstream"/> web nodes, one of which goes away.
/// </summary>
public sealed class HaproxyExportFunctionalTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("strata-export-haproxy-run-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task ExportedHaproxy_OneWebServerStops_EveryRequestStillAnswered()
    {
        Requirements.CheckOrReport(ExportTools.Unavailable("haproxy"), output);
        await using var web1 = await FakeUpstream.StartAsync("web-1");
        var web2 = await FakeUpstream.StartAsync("web-2");
        var web2Stopped = false;
        try
        {
            var vip = new IPEndPoint(IPAddress.Loopback, FreePorts.Tcp());
            var management = new IPEndPoint(IPAddress.Loopback, FreePorts.Tcp());
            var topology = TestTopology.Create(
                loadBalancers: [new NodeSpec("lb-1", NodeRole.LoadBalancer, management, management, Priority: 200)],
                webNodes: [TestTopology.Node("web-1", NodeRole.Web, web1.Url), TestTopology.Node("web-2", NodeRole.Web, web2.Url)],
                vip: vip);
            var config = Path.Combine(_dir, HaproxyConfig.FileName);
            await File.WriteAllTextAsync(config, ExportTools.Export(ExportTargets.Haproxy, topology, _dir, workers: 1));

            await using var haproxy = ForegroundServer.Start(ExportTools.Find("haproxy")!, "-db", "-f", config);
            using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };
            Assert.True(
                await Eventually.TrueAsync(async () => !haproxy.HasExited && await StatusAsync(client, $"http://{vip}/") == HttpStatusCode.OK),
                $"HAProxy (PID {haproxy.Pid}) did not answer on {vip}: {haproxy.Log}");

            var servedBy = new List<string>();
            for (var i = 0; i < 10; i++)
            {
                using var response = await client.GetAsync($"http://{vip}/page");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                servedBy.Add(response.Headers.GetValues("X-Served-By").Single());
                Assert.Contains(response.Headers.GetValues("Via"), v => v.StartsWith("1.1 ", StringComparison.Ordinal));
            }

            Assert.Equal(["web-1", "web-2"], servedBy.Distinct().Order(StringComparer.Ordinal));
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, $"http://{management}/readyz"));

            await web2.DisposeAsync();
            web2Stopped = true;
            for (var i = 0; i < 20; i++)
            {
                using var response = await client.GetAsync($"http://{vip}/after");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal("web-1", response.Headers.GetValues("X-Served-By").Single());
            }

            web1.Ready = false;
            Assert.True(
                await Eventually.TrueAsync(async () => await StatusAsync(client, $"http://{management}/readyz") == HttpStatusCode.ServiceUnavailable),
                "the management frontend's /readyz did not fail with no web server up");
        }
        finally
        {
            if (!web2Stopped)
            {
                await web2.DisposeAsync();
            }
        }
    }

    private static async Task<HttpStatusCode?> StatusAsync(HttpClient client, string url)
    {
        try
        {
            using var response = await client.GetAsync(url);
            return response.StatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or SocketException)
        {
            return null;
        }
    }
}
