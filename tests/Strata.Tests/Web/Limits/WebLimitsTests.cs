using System.Text;
using Microsoft.AspNetCore.Builder;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.Web.Limits;

/// <summary>The web node's client limits (web.client), checked with raw TCP requests against what Kestrel answers.</summary>
public sealed class WebLimitsTests : IAsyncLifetime
{
    private static readonly WebSpec s_limits = WebSpec.Default with
    {
        MaxBodyBytes = 1000,
        MaxRequestLineBytes = 1024,
        MaxHeaderBytes = 2048,
    };

    private readonly string _root = Directory.CreateTempSubdirectory("strata-wwwroot-").FullName;
    private FakeUpstream _app = null!;
    private WebApplication? _web;
    private Uri _address = null!;

    public async Task InitializeAsync()
    {
        _app = await FakeUpstream.StartAsync("app-1");
        (_web, _address) = await WebTestNode.StartAsync(_root, s_limits, _app);
        await WebTestNode.WaitHealthyAsync(_address, 1);
    }

    public async Task DisposeAsync()
    {
        await WebTestNode.StopAsync(_web);
        await _app.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task RequestLine_OverLimit_414()
    {
        var answer = await WebTestNode.RawAsync(_address, $"GET /{new string('a', 2000)} HTTP/1.1\r\nHost: x\r\n\r\n");

        Assert.Equal(414, WebTestNode.Status(answer));
        Assert.Equal(0, _app.Requests);
    }

    [Fact]
    public async Task Headers_OverLimit_431()
    {
        var answer = await WebTestNode.RawAsync(_address, $"GET /api/x HTTP/1.1\r\nHost: x\r\nX-Big: {new string('b', 3000)}\r\n\r\n");

        Assert.Equal(431, WebTestNode.Status(answer));
        Assert.Equal(0, _app.Requests);
    }

    [Fact]
    public async Task Post_ContentLengthOverLimit_413AndTheAppNeverSeesIt()
    {
        var answer = await WebTestNode.RawAsync(_address, $"POST /api/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n{new string('c', 5000)}");

        Assert.Equal(413, WebTestNode.Status(answer));
        Assert.Equal(0, _app.Requests);
    }

    /// <summary>The app node does see this one start (its body is streamed through and cut off): only Kestrel can count a chunked body.</summary>
    [Fact]
    public async Task Post_ChunkedBodyGrowsPastLimit_413()
    {
        var chunk = new string('d', 400);
        var body = new StringBuilder();
        for (var i = 0; i < 5; i++)
        {
            body.Append($"{chunk.Length:x}\r\n{chunk}\r\n");
        }

        body.Append("0\r\n\r\n");

        var answer = await WebTestNode.RawAsync(_address, $"POST /api/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{body}");

        Assert.Equal(413, WebTestNode.Status(answer));
    }

    [Fact]
    public async Task Post_UnderLimit_Forwarded()
    {
        var answer = await WebTestNode.RawAsync(
            _address, $"POST /api/messages HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 900\r\n\r\n{new string('e', 900)}");

        Assert.Equal(200, WebTestNode.Status(answer));
        Assert.Contains("app-1 /api/messages", answer);
    }
}
