using Strata.Topology;
using static Strata.Export.ConfigWriter;

namespace Strata.Export.Haproxy;

// vip.tls: HTTPS and HTTP/2 on the VIP (docs/tls.md; docs/export.md, "HTTPS").
public static partial class HaproxyConfig
{
    /// <summary>haproxy.cfg, and with vip.tls each certificate chain and its key in one PEM file beside it, as HAProxy's <c>crt</c> reads them.</summary>
    public static IReadOnlyList<ExportedFile> Files(Topology.Topology topology, ExportSettings settings) =>
        [new(FileName, Write(topology, settings)), .. CertificateBundles(topology)];

    /// <summary>The file the <paramref name="index"/>th certificate of vip.tls (0: the default) is written to.</summary>
    public static string CertificateFileName(int index) => Invariant($"vip-tls-{index + 1}.pem");

    /// <summary>
    /// Each of vip.tls's certificates: the chain, then its key (HAProxy 2.6 finds a key in a separate file only under a
    /// name derived from the certificate's). Read now, so the export needs the files Strata's load balancers read.
    /// </summary>
    private static IEnumerable<ExportedFile> CertificateBundles(Topology.Topology topology)
    {
        var certificates = topology.VipTls?.Certificates ?? [];
        for (var i = 0; i < certificates.Length; i++)
        {
            var files = certificates[i];
            yield return new ExportedFile(CertificateFileName(i), Read(files.Certificate) + Read(files.Key), Secret: true);
        }

        static string Read(string path)
        {
            try
            {
                return File.ReadAllText(path).TrimEnd() + "\n";
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new IOException($"vip.tls: cannot read {path}: {ex.Message}", ex);
            }
        }
    }

    private static IEnumerable<string> TlsApproximations(Topology.Topology topology) => topology.VipTls is not { } tls
        ? []
        :
        [
            $"vip.tls certificates: copied into {string.Join(", ", tls.Certificates.Select((_, i) => CertificateFileName(i)))} at export; HAProxy reads them at start and on reload (or `set ssl cert` on its runtime API) where Strata watches the files: export again after a renewal.",
            "vip.tls HTTP/2 limits: HAProxy's own where it has no setting (frame size 16 KiB, a header block up to tune.bufsize); the others are set below.",
        ];

    /// <summary>Mozilla's "intermediate" profile, as Strata's VIP offers it, and its HTTP/2 limits (docs/tls.md).</summary>
    private static void WriteTlsDefaults(ConfigWriter w, Topology.Topology topology)
    {
        if (topology.VipTls is null)
        {
            return;
        }

        w.Comment("vip.tls: TLS 1.2 and 1.3 only, Mozilla's \"intermediate\" ciphers, as Strata's load balancers.");
        w.Line("ssl-default-bind-ciphers " + VipTlsSpec.Tls12Ciphers);
        w.Line("ssl-default-bind-ciphersuites " + VipTlsSpec.Tls13Ciphers);
        w.Line("ssl-default-bind-options ssl-min-ver TLSv1.2");
        w.Comment("HTTP/2 as Strata's VIP: 100 streams per connection, a 4 KiB HPACK table, a 768 KiB window per stream.");
        w.Line("tune.h2.max-concurrent-streams 100");
        w.Line("tune.h2.header-table-size 4096");
        w.Line("tune.h2.initial-window-size 786432");
    }

    /// <summary>The HTTPS bind: every certificate (the first is the default; the others are chosen by SNI), ALPN h2 then HTTP/1.1.</summary>
    private static void WriteTlsBind(ConfigWriter w, Topology.Topology topology, ExportSettings settings)
    {
        if (topology.VipTls is not { } tls)
        {
            return;
        }

        var certificates = string.Concat(tls.Certificates.Select((_, i) => " crt " + Path.Combine(settings.OutputDirectory, CertificateFileName(i))));
        w.Line(Invariant($"bind {topology.Vip.Address}:{tls.Port} ssl{certificates} alpn h2,http/1.1"));
    }

    /// <summary>Strict-Transport-Security on every HTTPS answer, HAProxy's own errors too (http-after-response), as Strata's.</summary>
    private static void WriteHsts(ConfigWriter w, Topology.Topology topology)
    {
        if (topology.VipTls?.Hsts is not { } hsts)
        {
            return;
        }

        w.Line($"http-after-response set-header Strict-Transport-Security \"{hsts.HeaderValue}\" if {{ ssl_fc }}");
    }
}
