using System.Net;
using Strata.Topology;
using static Strata.Tests.Web.Static.StaticSiteHost;

namespace Strata.Tests.Web.Static;

/// <summary>
/// Traversal, encoded separators, hidden files and symlinks: answered 400 or 404 by the web node, never forwarded
/// and never with a byte from outside the root. Raw TCP, since HttpClient would normalise most of these.
/// </summary>
public sealed class StaticSiteSafetyTests : IAsyncLifetime
{
    private StaticSiteHost _host = null!;

    public async Task InitializeAsync() => _host = await StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    public static TheoryData<string> Corpus => new()
    {
        $"/../{OutsideName}/secret.txt",
        $"/static/../../{OutsideName}/secret.txt",
        $"/%2e%2e/{OutsideName}/secret.txt",
        $"/%2E%2E/%2E%2E/{OutsideName}/secret.txt",
        $"/static/%2e%2e/%2e%2e/{OutsideName}/secret.txt",
        $"/..%2f{OutsideName}%2fsecret.txt",
        $"/static%2f..%2f..%2f{OutsideName}%2fsecret.txt",
        $"/..%5c{OutsideName}%5csecret.txt",
        $"/..\\{OutsideName}\\secret.txt",
        $"/static\\..\\..\\{OutsideName}\\secret.txt",
        "/static/site.css%00.txt",
        "/static/site.css%00",
        $"/%c0%ae%c0%ae/{OutsideName}/secret.txt",
        $"/%c0%ae%c0%ae%c0%af{OutsideName}%c0%afsecret.txt",
        $"/%e0%80%ae%e0%80%ae/{OutsideName}/secret.txt",
        "/%2fetc%2fpasswd",
        "//etc/passwd",
        "/static//site.css",
        $"http://127.0.0.1/../{OutsideName}/secret.txt",
        $"/./{OutsideName}/secret.txt",
        "/.git/config",
        "/.git/",
        "/%2egit/config",
        "/.env",
        "/a/.hidden/x",
        "/static/.git/config",
        "/gitlink/config",
        "/static/leak.txt",
        "/leak.txt",
        "/linkdir/secret.txt",
        "/static/%zz",
    };

    [Theory]
    [MemberData(nameof(Corpus))]
    public async Task Get_TraversalCorpus_400Or404NeverOutsideNeverForwarded(string target)
    {
        var (status, text) = await _host.RawGetAsync(target);

        Assert.True(status is 400 or 404, $"{target}: {status}");
        Assert.DoesNotContain("TOP SECRET", text);
        Assert.DoesNotContain("repositoryformatversion", text);
        Assert.DoesNotContain("hunter2", text);
        Assert.DoesNotContain("forwarded", text);
        Assert.Equal(0, _host.Forwarded);
    }

    [Theory]
    [InlineData("/.env")]
    [InlineData("/a/.hidden/x")]
    public async Task Post_Hidden_404NotForwarded(string path)
    {
        using var response = await _host.Client.PostAsync(path, new StringContent("x"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(0, _host.Forwarded);
    }

    [Fact]
    public async Task Get_WellKnown_IsNotHidden()
    {
        // RFC 8615: /.well-known/ is meant to be served (ACME http-01 challenges), as nginx's usual /\.(?!well-known) rule.
        _host.Write(".well-known/acme-challenge/token1", "token1.thumbprint");

        using var response = await _host.Client.GetAsync("/.well-known/acme-challenge/token1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("token1.thumbprint", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Get_SymlinkInsideTheRoot_Served()
    {
        using var response = await _host.Client.GetAsync("/static/inner.css");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("body { color: black; }", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Get_FileNameWithEncodedSpace_Served()
    {
        _host.Write("static/my file.txt", "spaced");

        var (status, text) = await _host.RawGetAsync("/static/my%20file.txt");

        Assert.Equal(200, status);
        Assert.EndsWith("spaced", text);
    }

    [Theory]
    [InlineData("/static/leak.txt")]
    [InlineData("/leak.txt")]
    [InlineData("/linkdir/secret.txt")]
    public async Task Get_SymlinkOutOfRootWhenAllowed_Served(string path)
    {
        await using var host = await StartAsync(WebSpec.Default with { FollowSymlinksOutOfRoot = true });

        using var response = await host.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Secret, await response.Content.ReadAsStringAsync());
    }
}
