using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Strata.Hosting.Tls;

/// <summary>
/// A certificate out of the box, as mkcert and <c>dotnet dev-certs</c> make one: a local CA (created once, kept) and a
/// certificate it signs for the site's names and addresses, as PEM files in one folder, keys readable by their owner
/// only. With .NET's own certificate APIs (<see cref="CertificateRequest"/>): no OpenSSL command at run time.
/// </summary>
public static class LocalCertificateAuthority
{
    /// <summary>The CA's certificate: what clients are told to trust (curl <c>--cacert</c>, a browser's authorities).</summary>
    public const string CaFile = "ca.pem";

    /// <summary>The CA's private key (0600).</summary>
    public const string CaKeyFile = "ca-key.pem";

    /// <summary>The site's certificate, then the CA's.</summary>
    public const string CertificateFile = "cert.pem";

    /// <summary>The site's private key (0600).</summary>
    public const string KeyFile = "key.pem";

    // Browsers refuse server certificates valid for longer than 398 days; the CA lives ten years.
    private static readonly TimeSpan CertificateLifetime = TimeSpan.FromDays(397);
    private static readonly TimeSpan CaLifetime = TimeSpan.FromDays(3650);
    private static readonly TimeSpan RenewBefore = TimeSpan.FromDays(30);

    /// <summary>
    /// The names the VIP's generated certificate is for: www and the apex of the zone, a wildcard under it, every name of
    /// the zone, localhost; and the VIP's address on loopback and under --netns.
    /// </summary>
    public static (string[] Names, IPAddress[] Addresses) NamesFor(Topology.Topology topology)
    {
        var zone = topology.Zone;
        string[] names = [.. new[] { $"www.{zone.Zone}", zone.Zone, $"*.{zone.Zone}" }.Concat(zone.Records.Keys).Append("localhost").Distinct(StringComparer.Ordinal)];
        var addresses = new List<IPAddress> { topology.Vip.Address };
        try
        {
            addresses.Add(Topology.NetnsLayout.Apply(topology).Vip.Address);
        }
        catch (InvalidOperationException)
        {
            // A topology --netns cannot place: its loopback VIP is enough.
        }

        return (names, [.. addresses.Distinct()]);
    }

    /// <summary>
    /// vip.tls.generate: <see cref="Ensure(string, IReadOnlyCollection{string}, IReadOnlyCollection{IPAddress}, TimeProvider)"/>
    /// for the names of <paramref name="topology"/> (<see cref="NamesFor"/>) in its TLS folder.
    /// </summary>
    public static Made Ensure(Topology.Topology topology, Topology.VipTlsSpec tls)
    {
        var (names, addresses) = NamesFor(topology);
        return Ensure(tls.Directory, names, addresses, TimeProvider.System);
    }

    /// <summary>
    /// Makes what is missing in <paramref name="directory"/>: the CA the first time, and a certificate for
    /// <paramref name="names"/> and <paramref name="addresses"/> when there is none, it names less, it expires within 30
    /// days, or another CA signed it. Returns what it made, for the caller to say.
    /// </summary>
    public static Made Ensure(string directory, IReadOnlyCollection<string> names, IReadOnlyCollection<IPAddress> addresses, TimeProvider time)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("the local CA is made on Linux (its keys are files of mode 0600)");
        }

        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        // One maker at a time (strata up, and each load balancer started by hand): two would make two CAs.
        using var exclusive = Lock(Path.Combine(directory, ".lock"));
        var now = time.GetUtcNow();
        var caPath = Path.Combine(directory, CaFile);
        var caKeyPath = Path.Combine(directory, CaKeyFile);
        var madeCa = !File.Exists(caPath) || !File.Exists(caKeyPath);
        using var ca = madeCa ? CreateCa(now) : X509Certificate2.CreateFromPemFile(caPath, caKeyPath);
        if (madeCa)
        {
            Write(caKeyPath, ca.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem(), secret: true);
            Write(caPath, ca.ExportCertificatePem(), secret: false);
        }

        var certificatePath = Path.Combine(directory, CertificateFile);
        var keyPath = Path.Combine(directory, KeyFile);
        if (!madeCa && Covers(certificatePath, ca, names, addresses, now))
        {
            return new Made(Ca: false, Certificate: false);
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = CreateCertificate(ca, key, names, addresses, now);
        Write(keyPath, key.ExportPkcs8PrivateKeyPem(), secret: true);
        Write(certificatePath, certificate.ExportCertificatePem() + "\n" + ca.ExportCertificatePem(), secret: false);
        return new Made(madeCa, Certificate: true);
    }

    private static X509Certificate2 CreateCa(DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=Strata local CA ({Environment.MachineName}), O=Strata", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        return request.CreateSelfSigned(now.AddDays(-1), now + CaLifetime);
    }

    private static X509Certificate2 CreateCertificate(X509Certificate2 ca, ECDsa key, IReadOnlyCollection<string> names, IReadOnlyCollection<IPAddress> addresses, DateTimeOffset now)
    {
        var request = new CertificateRequest($"CN={names.FirstOrDefault() ?? "localhost"}, O=Strata", key, HashAlgorithmName.SHA256);
        var alternativeNames = new SubjectAlternativeNameBuilder();
        foreach (var name in names)
        {
            alternativeNames.AddDnsName(name);
        }

        foreach (var address in addresses)
        {
            alternativeNames.AddIpAddress(address);
        }

        request.CertificateExtensions.Add(alternativeNames.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1", "serverAuth")], critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var notAfter = now + CertificateLifetime;
        return request.Create(ca, now.AddDays(-1), notAfter < ca.NotAfter ? notAfter : ca.NotAfter, RandomNumberGenerator.GetBytes(16));
    }

    /// <summary>Whether the certificate at <paramref name="path"/> is <paramref name="ca"/>'s, names all it must and lives a while yet.</summary>
    private static bool Covers(string path, X509Certificate2 ca, IReadOnlyCollection<string> names, IReadOnlyCollection<IPAddress> addresses, DateTimeOffset now)
    {
        if (!File.Exists(path))
        {
            return false;
        }

        using var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(path));
        var alternativeNames = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault();
        return certificate.Issuer == ca.Subject
            && certificate.NotAfter.ToUniversalTime() > (now + RenewBefore).UtcDateTime
            && alternativeNames is not null
            && names.All(alternativeNames.EnumerateDnsNames().Contains)
            && addresses.All(alternativeNames.EnumerateIPAddresses().Contains);
    }

    /// <summary>An exclusive lock on <paramref name="path"/> (.NET takes <c>flock</c> for FileShare.None), waited for up to 30 s.</summary>
    private static FileStream Lock(string path)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }
        }
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void Write(string path, string pem, bool secret)
    {
        // Written whole under a temporary name, then renamed: a reader never sees half a file.
        var temporary = path + ".tmp";
        File.Delete(temporary);
        using (var stream = new FileStream(temporary, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = secret ? UnixFileMode.UserRead | UnixFileMode.UserWrite : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
        }))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(pem);
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>What <see cref="Ensure"/> made.</summary>
    /// <param name="Ca">A new CA (clients must be told to trust it).</param>
    /// <param name="Certificate">A new certificate.</param>
    public readonly record struct Made(bool Ca, bool Certificate);
}
