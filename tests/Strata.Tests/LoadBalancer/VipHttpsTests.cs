using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Strata.Hosting.Processes;
using Strata.Hosting.Tls;
using Strata.LoadBalancer;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.LoadBalancer;

/// <summary>
/// A load balancer's HTTPS listener with an operator's certificate and HSTS, in front of a real Kestrel upstream: HTTP/1.1
/// (served on the connection path, or by Kestrel for a request with a body) and HTTP/2 (Kestrel) answer alike.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class VipHttpsTests : IAsyncLifetime
{
    private const string Hsts = "max-age=31536000; includeSubDomains";

    private readonly string _dir = Directory.CreateTempSubdirectory("strata-vip-https-").FullName;
    private FakeUpstream _web = null!;
    private WebApplication _lb = null!;
    private Strata.Topology.Topology _topology = null!;
    private X509Certificate2 _ca = null!;

    public async Task InitializeAsync()
    {
        _web = await FakeUpstream.StartAsync("web-1");
        LocalCertificateAuthority.Ensure(_dir, ["www.foobar.com"], [IPAddress.Loopback], TimeProvider.System);
        _ca = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(_dir, LocalCertificateAuthority.CaFile));
        var vip = new IPEndPoint(IPAddress.Loopback, FreePorts.Tcp());
        _topology = TestTopology.Create(
            loadBalancers: [TestTopology.Node("lb-1", NodeRole.LoadBalancer, new IPEndPoint(IPAddress.Parse("127.0.9.1"), 0)) with { Priority = 200 }],
            webNodes: [TestTopology.Node("web-1", NodeRole.Web, _web.Url)],
            vip: vip) with
        {
            VipTls = new VipTlsSpec(
                FreePorts.Tcp(),
                [new CertificateFiles(Path.Combine(_dir, LocalCertificateAuthority.CertificateFile), Path.Combine(_dir, LocalCertificateAuthority.KeyFile))],
                Generate: false,
                _dir,
                RedirectHttp: true,
                new HstsSpec(TimeSpan.FromDays(365), IncludeSubDomains: true, Preload: false)),
        };
        _lb = LoadBalancerNode.Build(_topology, _topology.FindNode("lb-1")!);
        await _lb.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _lb.StopAsync();
        await _lb.DisposeAsync();
        await _web.DisposeAsync();
        _ca.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task Https_EachVersion_HstsOnEveryAnswer_WebTierSeesHttps(string version)
    {
        using var client = HttpsClient(Version.Parse(version));
        var site = new Uri($"https://www.foobar.com:{_topology.VipTls!.Port}/");
        Assert.True(await Eventually.TrueAsync(async () => await TryGetAsync(client, site) == HttpStatusCode.OK), "the HTTPS listener never answered");

        // Several requests on one connection (keep-alive, or streams), then a POST with a body (Kestrel's way in on HTTP/1.1).
        for (var i = 0; i < 5; i++)
        {
            using var response = await client.GetAsync(new Uri(site, $"/page?{i}"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(Version.Parse(version), response.Version);
            Assert.Equal(Hsts, response.Headers.GetValues("Strict-Transport-Security").Single());
            Assert.Equal("https", _web.LastHeaders!["X-Forwarded-Proto"].ToString());
        }

        using var post = await client.PostAsJsonAsync(new Uri(site, "/form"), new { a = 1 });
        Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        Assert.Equal(Hsts, post.Headers.GetValues("Strict-Transport-Security").Single());
        Assert.Equal("https", _web.LastHeaders!["X-Forwarded-Proto"].ToString());
    }

    [Fact]
    public async Task Https_NoServerUp_TheLoadBalancersOwn503CarriesHsts()
    {
        using var client = HttpsClient(HttpVersion.Version11);
        var site = new Uri($"https://www.foobar.com:{_topology.VipTls!.Port}/");
        Assert.True(await Eventually.TrueAsync(async () => await TryGetAsync(client, site) == HttpStatusCode.OK), "the HTTPS listener never answered");
        _web.Ready = false;

        Assert.True(
            await Eventually.TrueAsync(async () => await TryGetAsync(client, site) == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(20)),
            "the load balancer never saw web-1 down");
        using var response = await client.GetAsync(site);
        Assert.Equal(Hsts, response.Headers.GetValues("Strict-Transport-Security").Single());
    }

    [Fact]
    public async Task PlainHttp_RedirectedWithoutHsts()
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(10) };
        var page = new Uri($"http://{_topology.Vip}/a?b=c");
        Assert.True(await Eventually.TrueAsync(async () => await TryGetAsync(client, page) == HttpStatusCode.MovedPermanently), "plain HTTP was not redirected");

        using var request = new HttpRequestMessage(HttpMethod.Get, page) { Headers = { Host = "www.foobar.com" } };
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.MovedPermanently, response.StatusCode);
        Assert.Equal($"https://www.foobar.com:{_topology.VipTls!.Port}/a?b=c", response.Headers.Location!.OriginalString);
        Assert.False(response.Headers.Contains("Strict-Transport-Security"));
    }

    private HttpClient HttpsClient(Version version)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            // www.foobar.com is the VIP's address on loopback.
            ConnectCallback = async (_, token) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                await socket.ConnectAsync(new IPEndPoint(_topology.Vip.Address, _topology.VipTls!.Port), token);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            using var chain = new X509Chain { ChainPolicy = { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck } };
            chain.ChainPolicy.CustomTrustStore.Add(_ca);
            return certificate is X509Certificate2 leaf && chain.Build(leaf);
        };
        return new HttpClient(handler) { DefaultRequestVersion = version, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact, Timeout = TimeSpan.FromSeconds(10) };
    }

    private static async Task<HttpStatusCode?> TryGetAsync(HttpClient client, Uri uri)
    {
        try
        {
            using var response = await client.GetAsync(uri);
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }
}
