using System.Text.Json.Nodes;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.Topology;

/// <summary>vip.tls in strata.json: what loads, and errors that name the field.</summary>
public sealed class TlsValidationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("strata-tlsval-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Load_RepositoryTopology_HttpsOn8443WithAGeneratedCertificate()
    {
        var topology = TopologyLoader.Load(Path.Combine(TestTopology.RepositoryRoot, "strata.json"));

        Assert.Equal((8443, true, false), (topology.VipTls!.Port, topology.VipTls.Generate, topology.VipTls.RedirectHttp));
        Assert.EndsWith(Path.Combine(".strata", "tls", "cert.pem"), topology.VipTls.Certificates.Single().Certificate);
        Assert.Empty(topology.VipTls.Routes);
    }

    [Fact]
    public void Load_RedirectHttp_ARouteForPlainHttpButTheAcmeChallenge()
    {
        var topology = TopologyLoader.Load(Write("""{ "port": 8443, "generate": true, "redirectHttp": true }"""));

        var route = Assert.Single(topology.VipTls!.Routes);
        Assert.Equal(["http"], route.Match.Schemes.ToArray());
        Assert.Equal([VipTlsSpec.AcmeChallengePrefix], route.Match.ExceptPaths.ToArray());
        Assert.Equal(new RedirectRule(301, "https://$host:8443$request_uri"), Assert.Single(route.Request));
    }

    [Theory]
    [InlineData("""{ "port": 8443 }""", "vip.tls.certificates", "must list at least one certificate and key (or set \"generate\": true for a local CA's)")]
    [InlineData("""{ "port": 8080, "generate": true }""", "vip.tls.port", "8080 is the VIP's plain HTTP port; HTTPS needs a port of its own (443 beside 80, 8443 beside 8080)")]
    [InlineData("""{ "generate": true, "hsts": {} }""", "vip.tls.hsts", "is never sent with a generated certificate: browsers would lock themselves out of the site")]
    [InlineData("""{ "certificates": [{ "certificate": "missing.pem", "key": "key.pem" }] }""", "vip.tls.certificates[0].certificate", "does not exist")]
    [InlineData("""{ "certificates": [{ "certificate": "cert.pem", "key": "key.pem" }], "hsts": { "preload": true } }""", "vip.tls.hsts.preload", "needs maxAgeSeconds of at least 31536000 and includeSubDomains (hstspreload.org's rules)")]
    public void Load_BadTls_NamesTheFieldAndTheProblem(string tls, string field, string problem)
    {
        File.WriteAllText(Path.Combine(_dir, "cert.pem"), "");
        File.WriteAllText(Path.Combine(_dir, "key.pem"), "");
        var path = Write(tls);

        var error = Assert.Single(Assert.Throws<TopologyException>(() => TopologyLoader.Load(path)).Errors);
        Assert.Equal(field, error.Field);
        Assert.EndsWith(problem, error.Problem, StringComparison.Ordinal);
    }

    private string Write(string tls)
    {
        var root = TestTopology.DefaultJson();
        root["vip"]!["tls"] = JsonNode.Parse(tls);
        return TestTopology.Write(root, _dir);
    }
}
