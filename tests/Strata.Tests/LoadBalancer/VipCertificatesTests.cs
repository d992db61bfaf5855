using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Strata.LoadBalancer.Vip;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.LoadBalancer;

/// <summary>Which certificate a handshake gets (SNI: exact, wildcard, default) and what a reload does with good and bad files.</summary>
public sealed class VipCertificatesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("strata-vipcerts-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("www.foobar.com", "CN=default")]
    [InlineData(null, "CN=default")]
    [InlineData("unknown.example", "CN=default")]
    [InlineData("api.example.org", "CN=api")]
    [InlineData("API.example.org.", "CN=api")]
    [InlineData("shop.example.org", "CN=wildcard")]
    [InlineData("a.shop.example.org", "CN=default")]
    public void OptionsFor_SniNameExactThenWildcardElseTheFirst(string? serverName, string subject)
    {
        using var certificates = new VipCertificates(Spec(Write("default", "www.foobar.com"), Write("api", "api.example.org"), Write("wildcard", "*.example.org")), new ListLogger<VipCertificates>());

        var options = certificates.OptionsFor(serverName);

        Assert.Equal(subject, options.ServerCertificateContext!.TargetCertificate.Subject);
        Assert.Equal([System.Net.Security.SslApplicationProtocol.Http2, System.Net.Security.SslApplicationProtocol.Http11], options.ApplicationProtocols);
        Assert.Equal(System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13, options.EnabledSslProtocols);
    }

    [Fact]
    public void Reload_NewFiles_NewCertificate_BadFiles_OldOneStaysWithOneLogLine()
    {
        var files = Write("first", "www.foobar.com");
        var log = new ListLogger<VipCertificates>();
        using var certificates = new VipCertificates(Spec(files), log);
        var topology = TestTopology.Create() with { VipTls = Spec(files) };

        WriteTo(files, "second", "www.foobar.com");
        certificates.Apply(topology);
        var afterRotation = certificates.OptionsFor("www.foobar.com").ServerCertificateContext!.TargetCertificate.Subject;
        File.WriteAllText(files.Key, ExportKey(ECDsa.Create(ECCurve.NamedCurves.nistP256)));
        certificates.Apply(topology);

        Assert.Equal("CN=second", afterRotation);
        Assert.Equal("CN=second", certificates.OptionsFor("www.foobar.com").ServerCertificateContext!.TargetCertificate.Subject);
        Assert.Contains(log.Lines, l => l.Contains("not reloaded", StringComparison.Ordinal) && l.Contains("the old ones stay", StringComparison.Ordinal));
    }

    private static VipTlsSpec Spec(params CertificateFiles[] files) => new(8443, [.. files], false, "/nonexistent", false, null);

    private CertificateFiles Write(string name, string dnsName)
    {
        var files = new CertificateFiles(Path.Combine(_dir, $"{name}.pem"), Path.Combine(_dir, $"{name}-key.pem"));
        WriteTo(files, name, dnsName);
        return files;
    }

    private static void WriteTo(CertificateFiles files, string name, string dnsName)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(dnsName);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        File.WriteAllText(files.Certificate, certificate.ExportCertificatePem());
        File.WriteAllText(files.Key, ExportKey(key));
    }

    private static string ExportKey(ECDsa key) => key.ExportPkcs8PrivateKeyPem();
}
