using System.Net;
using System.Security.Cryptography.X509Certificates;
using Strata.Hosting.Tls;

namespace Strata.Tests.Hosting;

/// <summary>The local CA of vip.tls.generate: made once, reused, and a certificate made again only when it must be.</summary>
public sealed class LocalCertificateAuthorityTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("strata-ca-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Ensure_Twice_CaAndCertificateKept()
    {
        var first = LocalCertificateAuthority.Ensure(_dir, ["www.foobar.com"], [IPAddress.Parse("127.0.0.100")], TimeProvider.System);
        var ca = File.ReadAllText(Path.Combine(_dir, "ca.pem"));
        var certificate = File.ReadAllText(Path.Combine(_dir, "cert.pem"));

        var second = LocalCertificateAuthority.Ensure(_dir, ["www.foobar.com"], [IPAddress.Parse("127.0.0.100")], TimeProvider.System);

        Assert.Equal(new LocalCertificateAuthority.Made(true, true), first);
        Assert.Equal(new LocalCertificateAuthority.Made(false, false), second);
        Assert.Equal(ca, File.ReadAllText(Path.Combine(_dir, "ca.pem")));
        Assert.Equal(certificate, File.ReadAllText(Path.Combine(_dir, "cert.pem")));
    }

    [Fact]
    public void Ensure_NewName_NewCertificateFromTheSameCa_ThatChainsToIt()
    {
        LocalCertificateAuthority.Ensure(_dir, ["www.foobar.com"], [], TimeProvider.System);
        var ca = File.ReadAllText(Path.Combine(_dir, "ca.pem"));

        var made = LocalCertificateAuthority.Ensure(_dir, ["www.foobar.com", "api.foobar.com"], [], TimeProvider.System);

        Assert.Equal(new LocalCertificateAuthority.Made(false, true), made);
        Assert.Equal(ca, File.ReadAllText(Path.Combine(_dir, "ca.pem")));
        using var leaf = X509Certificate2.CreateFromPemFile(Path.Combine(_dir, "cert.pem"), Path.Combine(_dir, "key.pem"));
        using var root = X509Certificate2.CreateFromPem(ca);
        using var chain = new X509Chain { ChainPolicy = { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck } };
        chain.ChainPolicy.CustomTrustStore.Add(root);
        Assert.True(chain.Build(leaf), string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation)));
        Assert.Contains("api.foobar.com", leaf.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single().EnumerateDnsNames());
    }

    [Fact]
    public void Ensure_CertificateExpiringWithinAMonth_Renewed()
    {
        var soon = new ShiftedTime(TimeSpan.Zero);
        LocalCertificateAuthority.Ensure(_dir, ["www.foobar.com"], [], soon);

        var made = LocalCertificateAuthority.Ensure(_dir, ["www.foobar.com"], [], new ShiftedTime(TimeSpan.FromDays(380)));

        Assert.Equal(new LocalCertificateAuthority.Made(false, true), made);
    }

    [Fact]
    public async Task Ensure_FromSeveralAtOnce_OneCa()
    {
        var tasks = Enumerable.Range(0, 4).Select(_ => Task.Run(() => LocalCertificateAuthority.Ensure(_dir, ["www.foobar.com"], [], TimeProvider.System))).ToArray();

        var made = await Task.WhenAll(tasks);

        Assert.Equal(1, made.Count(m => m.Ca));
    }

    private sealed class ShiftedTime(TimeSpan shift) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + shift;
    }
}
