using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Time.Testing;
using Strata.Proxy.Forwarding;
using Strata.Tests.Common;

namespace Strata.Tests.Proxy.Forwarding;

/// <summary>
/// What a forwarding node refuses before choosing a server, as a unit; HostileRequestTests sends the same requests
/// (and many more) to a running topology.
/// </summary>
public sealed class RequestScreenTests
{
    [Theory]
    [InlineData("GET", "Connection", "keep-alive, TE", null)]
    [InlineData("GET", "Connection", "Content-Type", null)]
    [InlineData("GET", "Connection", "content-length", 400)]
    [InlineData("GET", "Connection", "close, Transfer-Encoding", 400)]
    [InlineData("GET", "Connection", "HOST", 400)]
    [InlineData("GET", "Connection", "bad name", 400)]
    [InlineData("GET", "Connection", "a/b", 400)]
    [InlineData("GET", "X-A", "tab\tis fine", null)]
    [InlineData("GET", "X-A", "caf\u00e9 \u20ac", null)]
    [InlineData("GET", "X-A", "a\u0001b", 400)]
    [InlineData("GET", "X-A", "a\u001fb", 400)]
    [InlineData("GET", "X-A", "a\u007fb", 400)]
    [InlineData("CONNECT", "X-A", "b", 501)]
    [InlineData("PROPFIND", "X-A", "b", null)]
    public void Check_OneHeader_RefusedOrNot(string method, string name, string value, int? status)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Headers[name] = value;

        Assert.Equal(status, RequestScreen.Check(context.Request)?.Status);
    }

    [Fact]
    public void Check_ContentLengthAndTransferEncoding_Refused()
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.Headers.TransferEncoding = "chunked";
        context.Request.Headers["X-Content-Length"] = "5";

        Assert.Equal(new RequestScreen.Refusal(400, "both Content-Length and Transfer-Encoding"), RequestScreen.Check(context.Request));
    }

    [Theory]
    [InlineData("HTTP/1.1", "chunked", null)]
    [InlineData("HTTP/1.1", " Chunked\t", null)]
    [InlineData("HTTP/1.1", "chunked, chunked", 400)]
    [InlineData("HTTP/1.1", "gzip, chunked", 501)]
    [InlineData("HTTP/1.0", "chunked", 400)]
    public void Check_TransferEncoding_OnlyChunkedOnceOverHttp11(string protocol, string value, int? status)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.Protocol = protocol;
        context.Request.Headers.TransferEncoding = value;

        Assert.Equal(status, RequestScreen.Check(context.Request)?.Status);
    }

    [Theory]
    [InlineData("www.foobar.com:65535", null)]
    [InlineData("[::1]:8080", null)]
    [InlineData("[::1]", null)]
    [InlineData("", 400)]
    [InlineData("www.foobar.com:65536", 400)]
    [InlineData("www.foobar.com:99999999999", 400)]
    public void Check_Host_NotEmpty_PortInRange(string host, int? status)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "GET";
        context.Request.Headers.Host = host;

        Assert.Equal(status, RequestScreen.Check(context.Request)?.Status);
    }

    [Theory]
    [InlineData("GET", "/a@b?c", null)]
    [InlineData("GET", "http://www.foobar.com/a@b", null)]
    [InlineData("GET", "http://evil@www.foobar.com/", 400)]
    [InlineData("GET", "/a\rb", 400)]
    [InlineData("get", "/", 400)]
    public void Check_MethodAndTarget(string method, string target, int? status)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Features.Get<IHttpRequestFeature>()!.RawTarget = target;

        Assert.Equal(status, RequestScreen.Check(context.Request)?.Status);
    }

    [Fact]
    public void Check_DeclaredBodyOverTheNodesLimit_413()
    {
        var context = new DefaultHttpContext();
        context.Features.Set<IHttpMaxRequestBodySizeFeature>(new BodyLimit(1024));
        context.Request.Method = "POST";

        context.Request.ContentLength = 1024;
        Assert.Null(RequestScreen.Check(context.Request));
        context.Request.ContentLength = 1025;
        Assert.Equal(413, RequestScreen.Check(context.Request)?.Status);
    }

    [Fact]
    public void RefusalLog_OneLinePerClientPerInterval()
    {
        var time = new FakeTimeProvider();
        var logger = new ListLogger<RequestScreenTests>();
        var log = new RefusalLog(time, logger);
        var refusal = new RequestScreen.Refusal(400, "the header X-A holds a control character");
        var client = IPAddress.Parse("192.0.2.1");

        for (var i = 0; i < 100; i++)
        {
            log.Refused(client, "GET", refusal);
        }

        log.Refused(IPAddress.Parse("192.0.2.2"), "POST", refusal);
        time.Advance(RefusalLog.Interval);
        log.Refused(client, "GET", refusal);

        Assert.Equal(3, logger.Lines.Count);
        Assert.Equal(
            "Refused a GET request from 192.0.2.1 with 400: the header X-A holds a control character (the client's fault, no server was tried; more from this client are not logged for 60 s)",
            logger.Lines[0]);
        Assert.StartsWith("Refused a POST request from 192.0.2.2", logger.Lines[1]);
    }

    [Fact]
    public void RefusalLog_FloodOfAddresses_TableStaysBounded()
    {
        var time = new FakeTimeProvider();
        var logger = new ListLogger<RequestScreenTests>();
        var log = new RefusalLog(time, logger);
        var refusal = new RequestScreen.Refusal(400, "x");

        for (var i = 0; i < RefusalLog.MaxClients * 3; i++)
        {
            log.Refused(new IPAddress(0x0A000000u + (uint)i), "GET", refusal);
        }

        // Only as many clients as the table holds are logged within an interval; once it has passed, others are again.
        Assert.Equal(RefusalLog.MaxClients, logger.Lines.Count);
        time.Advance(RefusalLog.Interval);
        log.Refused(IPAddress.Parse("192.0.2.9"), "GET", refusal);
        Assert.Equal(RefusalLog.MaxClients + 1, logger.Lines.Count);
    }

    private sealed class BodyLimit(long limit) : IHttpMaxRequestBodySizeFeature
    {
        public bool IsReadOnly => false;

        public long? MaxRequestBodySize { get; set; } = limit;
    }
}
