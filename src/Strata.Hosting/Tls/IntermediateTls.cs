using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using Strata.Topology;

namespace Strata.Hosting.Tls;

/// <summary>
/// Mozilla's "intermediate" server profile (ssl-config.mozilla.org, version 5.7): TLS 1.2 and 1.3; TLS 1.3's three
/// suites, and for TLS 1.2 only ECDHE/DHE with AES-GCM or ChaCha20-Poly1305.
/// </summary>
/// <remarks>
/// Why not only <see cref="CipherSuitesPolicy"/>: on Linux, .NET caches an OpenSSL context (SSL_CTX) per certificate
/// only when no policy is given, so with one every handshake builds a context anew: measured, 900 handshakes/s
/// against 2,200 without (docs/benchmarks.md). So a server process makes the profile OpenSSL's own default before
/// OpenSSL is first used (<see cref="ApplyToProcess"/>: OPENSSL_CONF naming a file with the lists), and checks with a
/// real handshake that it holds (<see cref="RefusesOtherCiphers"/>); where it does not (OpenSSL was already in use,
/// the file could not be written), the policy is set on each handshake instead: slower, never weaker.
/// </remarks>
public static partial class IntermediateTls
{
    /// <summary>The profile's suites, for <see cref="CipherSuitesPolicy"/> (in OpenSSL's names: <see cref="VipTlsSpec.Tls12Ciphers"/>, <see cref="VipTlsSpec.Tls13Ciphers"/>).</summary>
    public static readonly TlsCipherSuite[] CipherSuites =
    [
        TlsCipherSuite.TLS_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_DHE_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ];

    /// <summary>The OpenSSL configuration whose defaults are the profile.</summary>
    public const string OpenSslConfig = $"""
        # Written by Strata: Mozilla's intermediate TLS profile as this process's OpenSSL defaults (docs/tls.md).
        openssl_conf = strata_init

        [strata_init]
        ssl_conf = strata_ssl

        [strata_ssl]
        system_default = strata_tls

        [strata_tls]
        MinProtocol = TLSv1.2
        CipherString = {VipTlsSpec.Tls12Ciphers}
        Ciphersuites = {VipTlsSpec.Tls13Ciphers}

        """;

    /// <summary>
    /// Points this process's OpenSSL at <see cref="OpenSslConfig"/>, written as openssl.cnf in <paramref name="directory"/>
    /// (created 0700 if missing). Effective only if OpenSSL has not been used yet in this process; returns the problem, or null.
    /// </summary>
    public static string? ApplyToProcess(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return "OpenSSL's defaults are set on Linux only";
        }

        var path = Path.Combine(directory, "openssl.cnf");
        try
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            // Two load balancers on one machine write the same bytes: each its own file, moved in place whole.
            var temporary = $"{path}.{Environment.ProcessId}";
            File.WriteAllText(temporary, OpenSslConfig);
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"cannot write {path}: {ex.Message}";
        }

        // .NET's Environment.SetEnvironmentVariable changes only its own copy: OpenSSL reads the C library's.
        return SetEnv("OPENSSL_CONF", path, 1) == 0 ? null : $"setenv OPENSSL_CONF failed ({Marshal.GetLastPInvokeError()})";
    }

    /// <summary>
    /// Whether a server with <paramref name="options"/> (no cipher policy of its own) refuses a TLS 1.2 client that
    /// offers only suites outside the profile (AES-CBC): a handshake over loopback, bounded by 10 s.
    /// </summary>
    public static async Task<bool> RefusesOtherCiphers(SslServerAuthenticationOptions options)
    {
        if (OperatingSystem.IsWindows())
        {
            // Schannel: no cipher policy on either side; the system's own list applies.
            return true;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!, timeout.Token);
        var server = await listener.AcceptAsync(timeout.Token);
        await using var serverTls = new SslStream(new NetworkStream(server, ownsSocket: true));
        await using var clientTls = new SslStream(new NetworkStream(client, ownsSocket: true));
        var weak = new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            EnabledSslProtocols = SslProtocols.Tls12,
            CipherSuitesPolicy = new([
                TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
                TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
                TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
                TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
                TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA,
                TlsCipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256,
            ]),
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        };
        try
        {
            await Task.WhenAll(serverTls.AuthenticateAsServerAsync(options, timeout.Token), clientTls.AuthenticateAsClientAsync(weak, timeout.Token));
            return false;
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            // No answer either way: not proven.
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "setenv", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
