using System.Collections.Immutable;
using System.Net;

namespace Strata.Topology;

/// <summary>The checks of vip.tls: HTTPS on the VIP.</summary>
internal sealed partial class TopologyValidator
{
    /// <summary>Where <c>strata up</c> keeps the local CA and its certificate, beside the topology file.</summary>
    private string TlsDirectory => Path.GetFullPath(Path.Combine(_baseDirectory, ".strata", "tls"));

    private VipTlsSpec? VipTls(VipTlsOptions? tls, IPEndPoint? vip)
    {
        if (tls is null)
        {
            return null;
        }

        var port = InRange(tls.Port ?? 443, "vip.tls.port", 1, 65535);
        if (vip is not null && port == vip.Port)
        {
            Error("vip.tls.port", $"{port} is the VIP's plain HTTP port; HTTPS needs a port of its own (443 beside 80, 8443 beside 8080)");
        }

        var generate = tls.Generate ?? false;
        var certificates = ImmutableArray.CreateBuilder<CertificateFiles>();
        for (var i = 0; i < (tls.Certificates?.Count ?? 0); i++)
        {
            var given = tls.Certificates![i];
            var field = $"vip.tls.certificates[{i}]";
            var certificate = PemFile(given?.Certificate, $"{field}.certificate");
            var key = PemFile(given?.Key, $"{field}.key");
            if (certificate is not null && key is not null)
            {
                certificates.Add(new CertificateFiles(certificate, key));
            }
        }

        if (generate && certificates.Count > 0)
        {
            Error("vip.tls.generate", "serves a generated certificate when none is listed; list certificates or generate, not both");
        }
        else if (!generate && tls.Certificates is not { Count: > 0 })
        {
            Error("vip.tls.certificates", "must list at least one certificate and key (or set \"generate\": true for a local CA's)");
        }

        if (generate)
        {
            certificates.Add(new CertificateFiles(Path.Combine(TlsDirectory, "cert.pem"), Path.Combine(TlsDirectory, "key.pem")));
        }

        return new VipTlsSpec(port, certificates.ToImmutable(), generate, TlsDirectory, tls.RedirectHttp ?? false, Hsts(tls.Hsts, generate));
    }

    private string? PemFile(string? value, string field)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            Error(field, "is required (a PEM file, relative to the topology file)");
            return null;
        }

        var path = Path.GetFullPath(Path.Combine(_baseDirectory, value));
        if (!File.Exists(path))
        {
            Error(field, $"'{path}' does not exist");
            return null;
        }

        return path;
    }

    private HstsSpec? Hsts(HstsOptions? hsts, bool generate)
    {
        if (hsts is null)
        {
            return null;
        }

        if (generate)
        {
            // A browser that saw HSTS with a certificate it cannot check would refuse the site until max-age passes.
            Error("vip.tls.hsts", "is never sent with a generated certificate: browsers would lock themselves out of the site");
        }

        var maxAge = InRange(hsts.MaxAgeSeconds ?? 31_536_000, "vip.tls.hsts.maxAgeSeconds", 0, 63_072_000);
        if (hsts.Preload == true && (maxAge < 31_536_000 || hsts.IncludeSubDomains != true))
        {
            Error("vip.tls.hsts.preload", "needs maxAgeSeconds of at least 31536000 and includeSubDomains (hstspreload.org's rules)");
        }

        return new HstsSpec(TimeSpan.FromSeconds(maxAge), hsts.IncludeSubDomains ?? false, hsts.Preload ?? false);
    }
}
