using System.Security.Cryptography;
using Strata.Hosting.Tls;
using Strata.Topology;

namespace Strata.Orchestration;

/// <summary>The certificate out of the box: <c>vip.tls.generate</c> (docs/tls.md).</summary>
public sealed partial class Orchestrator
{
    /// <summary>
    /// Makes the local CA (the first time) and a certificate for the zone's names and the VIP's addresses (on loopback
    /// and under --netns), and says how to trust the CA when it is new; null, or what went wrong.
    /// </summary>
    private string? MakeLocalCertificate(VipTlsSpec tls)
    {
        LocalCertificateAuthority.Made made;
        try
        {
            made = LocalCertificateAuthority.Ensure(_file, tls);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            return $"could not make the local certificate in {tls.Directory}: {ex.Message}";
        }

        var (names, addresses) = LocalCertificateAuthority.NamesFor(_file);
        var ca = Path.Combine(tls.Directory, LocalCertificateAuthority.CaFile);
        var site = names[0];
        if (made.Ca)
        {
            output.WriteLine($"""
                HTTPS: created a local CA ({ca}; its key stays in that folder, mode 0600) and a certificate for {string.Join(", ", names)} and {string.Join(", ", addresses.AsEnumerable())}.
                  Trust it with curl:  curl --cacert {ca} --resolve {site}:{tls.Port}:{_layout.Vip.Address} https://{site}:{tls.Port}/
                  In a browser: import {ca} as a certificate authority (Firefox: Settings, Privacy & Security, Certificates; Chrome on Linux: certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n strata -i {ca}).
                """);
        }
        else if (made.Certificate)
        {
            output.WriteLine($"HTTPS: a new certificate for {string.Join(", ", names)}, signed by the local CA {ca}");
        }

        return null;
    }
}
