using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Strata.Hosting;
using Strata.Hosting.Tls;
using Strata.Proxy.Stats;
using Strata.Topology;

namespace Strata.LoadBalancer.Vip;

/// <summary>
/// The VIP's certificates, read from their PEM files, and the TLS settings of each handshake: the certificate whose
/// names hold the client's SNI name (exact first, then a wildcard), else the first; TLS 1.2 and 1.3 with Mozilla's
/// "intermediate" cipher list (<see cref="IntermediateTls"/>); ALPN h2 and http/1.1. Files changed on disk (certbot's renewal), SIGHUP and a reloaded
/// topology load them again: new handshakes get the new certificate while open connections go on; files that do not
/// parse, or whose key does not match, are refused with one log line and the old certificates stay.
/// </summary>
internal sealed partial class VipCertificates : ITopologyReloadTarget, IServedCertificates, IDisposable
{
    private readonly ILogger _logger;
    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly Timer _debounce;
    private VipTlsSpec _spec;
    private volatile Set _set;

    // Null while OpenSSL's own defaults are the profile (IntermediateTls): then handshakes share one OpenSSL context.
    private readonly CipherSuitesPolicy? _ciphers;

    public VipCertificates(VipTlsSpec spec, ILogger logger)
    {
        _logger = logger;
        _spec = spec;
        _set = Load(spec, null);
        // Once, at start: a handshake over loopback says whether OpenSSL's defaults are the profile.
        if (!OperatingSystem.IsWindows() && !Task.Run(() => IntermediateTls.RefusesOtherCiphers(_set.All[0].Options)).GetAwaiter().GetResult())
        {
            _ciphers = new CipherSuitesPolicy(IntermediateTls.CipherSuites);
            _set = Load(spec, _ciphers);
            LogCiphersPerHandshake();
        }

        _debounce = new Timer(_ => Reload("the files changed"));
        Watch(spec);
    }

    /// <summary>The certificate each name gets, with when it expires: for /metrics and /stats.</summary>
    public IReadOnlyList<(string Names, DateTime NotAfter)> Certificates => [.. _set.All.Select(c => (c.Names, c.NotAfter))];

    /// <summary>The TLS settings of a handshake for <paramref name="serverName"/> (SNI; null without one).</summary>
    public SslServerAuthenticationOptions OptionsFor(string? serverName) => _set.Find(serverName).Options;

    public void Apply(Topology.Topology topology)
    {
        if (topology.VipTls is { } spec)
        {
            _spec = spec;
            Reload("reload");
        }
    }

    public void Dispose()
    {
        _debounce.Dispose();
        foreach (var watcher in _watchers)
        {
            watcher.Dispose();
        }
    }

    private void Reload(string reason)
    {
        try
        {
            _set = Load(_spec, _ciphers);
            LogLoaded(reason, string.Join("; ", _set.All.Select(c => $"{c.Names} until {c.NotAfter:yyyy-MM-dd}")));
        }
        catch (Exception ex) when (ex is IOException or System.Security.Cryptography.CryptographicException or ArgumentException or InvalidOperationException)
        {
            LogRefused(reason, ex.Message);
        }
    }

    private void Watch(VipTlsSpec spec)
    {
        foreach (var directory in spec.Certificates.SelectMany(c => new[] { c.Certificate, c.Key }).Select(Path.GetDirectoryName).Distinct())
        {
            if (directory is null || !Directory.Exists(directory))
            {
                continue;
            }

            var watcher = new FileSystemWatcher(directory) { NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size };
            // certbot writes new files and moves links; a burst of events becomes one reload half a second later.
            FileSystemEventHandler changed = (_, _) => _debounce.Change(500, Timeout.Infinite);
            watcher.Changed += changed;
            watcher.Created += changed;
            watcher.Renamed += (_, _) => _debounce.Change(500, Timeout.Infinite);
            watcher.EnableRaisingEvents = true;
            _watchers.Add(watcher);
        }
    }

    /// <summary>Reads every certificate chain and key; throws (IOException, naming the files) when one does not parse or its key does not match.</summary>
    private static Set Load(VipTlsSpec spec, CipherSuitesPolicy? ciphers)
    {
        var loaded = new List<Served>();
        foreach (var files in spec.Certificates)
        {
            try
            {
                loaded.Add(Load(files, ciphers));
            }
            catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or ArgumentException or InvalidOperationException or IOException)
            {
                // An IOException: a node that cannot start with it says it in one line (strata lb), not a stack trace.
                throw new IOException($"vip.tls: {files.Certificate} with {files.Key}: {ex.Message}", ex);
            }
        }

        return new Set(loaded);
    }

    /// <summary>One chain and its key, with the TLS settings of a handshake that gets it.</summary>
    private static Served Load(CertificateFiles files, CipherSuitesPolicy? ciphers)
    {
        var chain = new X509Certificate2Collection();
        chain.ImportFromPemFile(files.Certificate);
        if (chain.Count == 0)
        {
            throw new InvalidOperationException($"{files.Certificate} holds no certificate");
        }

        // CreateFromPemFile checks that the key is the certificate's (CryptographicException otherwise).
        var leaf = X509Certificate2.CreateFromPemFile(files.Certificate, files.Key);
        var names = leaf.Extensions.OfType<X509SubjectAlternativeNameExtension>().SelectMany(e => e.EnumerateDnsNames()).ToArray();
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = SslStreamCertificateContext.Create(leaf, [.. chain.Skip(1)], offline: true),
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            CipherSuitesPolicy = ciphers,
            ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11],
            ClientCertificateRequired = false,
        };
        return new Served(names.Length == 0 ? leaf.GetNameInfo(X509NameType.SimpleName, false) : string.Join(",", names), leaf.NotAfter.ToUniversalTime(), names, options);
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "VIP certificates loaded ({Reason}): {Certificates}")]
    private partial void LogLoaded(string reason, string certificates);

    [LoggerMessage(EventId = 22, Level = LogLevel.Warning, Message = "OpenSSL's defaults in this process are not Mozilla's intermediate profile (strata lb sets them before OpenSSL is first used): the cipher list is set on each handshake, and handshakes are slower")]
    private partial void LogCiphersPerHandshake();

    [LoggerMessage(EventId = 21, Level = LogLevel.Error, Message = "VIP certificates not reloaded ({Reason}), the old ones stay: {Problem}")]
    private partial void LogRefused(string reason, string problem);

    private sealed record Served(string Names, DateTime NotAfter, string[] DnsNames, SslServerAuthenticationOptions Options);

    /// <summary>One generation of certificates: replaced whole, so a handshake sees one consistent set.</summary>
    private sealed class Set(List<Served> all)
    {
        private readonly Dictionary<string, Served> _exact = Index(all, wildcard: false);
        private readonly Dictionary<string, Served> _wildcard = Index(all, wildcard: true);

        public IReadOnlyList<Served> All => all;

        /// <summary>An exact name first, then a wildcard for its parent domain (one label, RFC 6125), else the first certificate.</summary>
        public Served Find(string? serverName)
        {
            if (!string.IsNullOrEmpty(serverName))
            {
                var name = serverName.TrimEnd('.').ToLowerInvariant();
                if (_exact.TryGetValue(name, out var exact))
                {
                    return exact;
                }

                var dot = name.IndexOf('.');
                if (dot > 0 && _wildcard.TryGetValue(name[(dot + 1)..], out var wildcard))
                {
                    return wildcard;
                }
            }

            return all[0];
        }

        private static Dictionary<string, Served> Index(List<Served> all, bool wildcard)
        {
            var index = new Dictionary<string, Served>(StringComparer.Ordinal);
            foreach (var served in all)
            {
                foreach (var name in served.DnsNames.Select(n => n.ToLowerInvariant()))
                {
                    if (name.StartsWith("*.", StringComparison.Ordinal) == wildcard)
                    {
                        index.TryAdd(wildcard ? name[2..] : name, served);
                    }
                }
            }

            return index;
        }
    }
}
