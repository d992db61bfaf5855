using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Strata.Tests.Common;
using Strata.Topology;
using Strata.Web;

namespace Strata.Tests.Web;

/// <summary>Starts a real web node "web-1" on loopback port 0 in front of the given app stand-ins, and talks raw HTTP to it.</summary>
internal static class WebTestNode
{
    public static Task<(WebApplication App, Uri Address)> StartAsync(string webRoot, WebSpec web, params FakeUpstream[] apps) =>
        StartAsync(TestTopology.Node("web-1", NodeRole.Web), webRoot, web, apps);

    /// <summary>As above, for a node of the caller's making (e.g. with a management address of its own); the first bound URL is returned.</summary>
    public static Task<(WebApplication App, Uri Address)> StartAsync(NodeSpec node, string webRoot, WebSpec web, params FakeUpstream[] apps) =>
        StartAsync(node, webRoot, web, warmUp: false, apps);

    /// <summary>As above, with the warm-up of the <c>strata web</c> command's nodes or without.</summary>
    public static async Task<(WebApplication App, Uri Address)> StartAsync(NodeSpec node, string webRoot, WebSpec web, bool warmUp, params FakeUpstream[] apps)
    {
        var topology = TestTopology.Create(
            webNodes: [node],
            appNodes: apps.Select(a => TestTopology.Node(a.Name, NodeRole.App, a.Url)),
            webRoot: webRoot) with
        {
            Web = web,
        };
        var app = WebNode.Build(topology, node, warmUp);
        await app.StartAsync();
        return (app, new Uri(app.Urls.First()));
    }

    /// <summary>Waits until the web node's health checks see every app node up.</summary>
    public static async Task WaitHealthyAsync(Uri address, int apps)
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        Assert.True(
            await Eventually.TrueAsync(async () => (await client.GetStringAsync(new Uri(address, "/readyz"))).Contains($"{apps} of {apps} app nodes healthy")),
            "the app nodes never came up");
    }

    public static async Task StopAsync(WebApplication? app)
    {
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>
    /// Sends <paramref name="request"/> as is over a new connection and returns what comes back until the server
    /// closes the connection or <paramref name="wait"/> passes (a server may answer before the request is all sent).
    /// </summary>
    public static async Task<string> RawAsync(Uri address, string request, TimeSpan? wait = null)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(address.Host, address.Port);
        try
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None);
        }
        catch (SocketException)
        {
            // Refused mid-request: the answer may still be readable.
        }

        var answer = new StringBuilder();
        var buffer = new byte[8192];
        using var timeout = new CancellationTokenSource(wait ?? TimeSpan.FromSeconds(5));
        try
        {
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (read == 0)
                {
                    break;
                }

                answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException)
        {
            // Timed out with the connection open, or reset after the answer.
        }

        return answer.ToString();
    }

    /// <summary>The status code of a raw answer, or 0 when there was none.</summary>
    public static int Status(string answer) =>
        answer.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && int.TryParse(answer.AsSpan(9, 3), out var status) ? status : 0;
}
