using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace Strata.Tests.EndToEnd;

/// <summary>An HTTP/2 client of the VIP that trusts only the topology's generated CA, as a user's client given <c>--cacert</c>.</summary>
internal static class TrustingHttpsClient
{
    /// <summary>
    /// A client whose connections go to 127.0.0.100 (the VIP) whatever the name, each kept for
    /// <paramref name="connectionLifetime"/> (then a new handshake); <paramref name="onCertificate"/> sees every certificate
    /// the server presents. 10 s per request.
    /// </summary>
    public static HttpClient Create(string caPath, TimeSpan connectionLifetime, Action<X509Certificate2>? onCertificate = null)
    {
        var ca = X509Certificate2.CreateFromPem(File.ReadAllText(caPath));
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            PooledConnectionLifetime = connectionLifetime,
            ConnectCallback = async (context, token) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    await socket.ConnectAsync(IPAddress.Parse("127.0.0.100"), context.DnsEndPoint.Port, token);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }

                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            if (certificate is not X509Certificate2 leaf)
            {
                return false;
            }

            onCertificate?.Invoke(leaf);
            using var chain = new X509Chain { ChainPolicy = { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck } };
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            return chain.Build(leaf);
        };
        return new HttpClient(handler) { DefaultRequestVersion = HttpVersion.Version20, Timeout = TimeSpan.FromSeconds(10) };
    }
}
