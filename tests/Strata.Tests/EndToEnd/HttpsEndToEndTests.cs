using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Strata.Tests.Common;

namespace Strata.Tests.EndToEnd;

/// <summary>
/// HTTPS on the VIP of a topology started as a user starts it (<c>strata up --detach</c>, the repository's strata.json
/// with <c>redirectHttp</c> on), checked with real TLS clients: curl, openssl s_client, nghttp.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class HttpsEndToEndTests(HttpsEndToEndTests.Site site) : IClassFixture<HttpsEndToEndTests.Site>
{
    private const string Host = "www.foobar.com";

    [Fact]
    public async Task Curl_HomePageOverHttp2_TrustingTheGeneratedCa()
    {
        var result = await CurlAsync("-s", "-o", "-", "-w", "\n%{http_version} %{http_code}", $"https://{Host}:{site.Run.HttpsPort}/");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("<title>foobar.com</title>", result.Output);
        Assert.EndsWith("\n2 200", result.Output.TrimEnd());
    }

    [Fact]
    public async Task Curl_Http11OverTls_Served()
    {
        var result = await CurlAsync("-s", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", "--http1.1", $"https://{Host}:{site.Run.HttpsPort}/");

        Assert.Equal("1.1 200", result.Output);
    }

    [Fact]
    public async Task Curl_Tls11_Refused()
    {
        var result = await CurlAsync("-s", "-o", "/dev/null", "--tlsv1.1", "--tls-max", "1.1", $"https://{Host}:{site.Run.HttpsPort}/");

        // 35: the handshake failed (no common protocol); the server never answered over TLS 1.1.
        Assert.Equal(35, result.ExitCode);
    }

    [Fact]
    public async Task OpenSsl_Tls13_AlpnH2_CertificateForTheName()
    {
        var result = await ChildProcess.RunAsync(
            "/bin/sh",
            ["-c", $"echo | openssl s_client -connect 127.0.0.100:{site.Run.HttpsPort} -servername {Host} -alpn h2,http/1.1 -CAfile {site.Run.CaPath}"],
            TimeSpan.FromSeconds(20));

        Assert.Contains("ALPN protocol: h2", result.Output);
        Assert.Contains("New, TLSv1.3, Cipher is", result.Output);
        Assert.Contains("Verify return code: 0 (ok)", result.Output);
        Assert.Contains($"CN = {Host}", result.Output);
    }

    [Fact]
    public async Task OpenSsl_Tls12_IntermediateCipherOnly()
    {
        var weak = await ChildProcess.RunAsync(
            "/bin/sh",
            ["-c", $"echo | openssl s_client -connect 127.0.0.100:{site.Run.HttpsPort} -servername {Host} -tls1_2 -cipher ECDHE-ECDSA-AES128-SHA256"],
            TimeSpan.FromSeconds(20));
        var strong = await ChildProcess.RunAsync(
            "/bin/sh",
            ["-c", $"echo | openssl s_client -connect 127.0.0.100:{site.Run.HttpsPort} -servername {Host} -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256"],
            TimeSpan.FromSeconds(20));

        Assert.DoesNotContain("Cipher is ECDHE-ECDSA-AES128-SHA256", weak.Output);
        Assert.Contains("Cipher is ECDHE-ECDSA-AES128-GCM-SHA256", strong.Output);
    }

    [Fact]
    public async Task Nghttp_ConcurrentStreamsOnOneConnection_AllAnswered()
    {
        // -m 20: the same URL twenty times at once on one connection; -s: a summary line per stream.
        var result = await ChildProcess.RunAsync(
            "nghttp",
            ["-n", "-s", "-m", "20", "-H", $":authority: {Host}", $"https://127.0.0.100:{site.Run.HttpsPort}/api/messages"],
            TimeSpan.FromSeconds(30));

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(20, result.Output.Split('\n').Count(line => line.Contains("/api/messages", StringComparison.Ordinal) && line.Contains(" 200 ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Http2_LargeDownload_WholeAndExact()
    {
        var saved = Path.Combine(site.Run.Directory, "large.download");

        var result = await CurlAsync("-s", "--http2", "-o", saved, "-w", "%{http_version} %{http_code} %{size_download}", $"https://{Host}:{site.Run.HttpsPort}/static/large.bin");

        Assert.Equal($"2 200 {8 * 1024 * 1024}", result.Output);
        Assert.Equal(
            System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(site.Run.Directory, "wwwroot", "static", "large.bin"))),
            System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(saved)));
    }

    [Fact]
    public async Task App_SeesHttps_AntiforgeryCookieSecure()
    {
        var overHttps = await CurlAsync("-s", "-D", "-", "-o", "/dev/null", $"https://{Host}:{site.Run.HttpsPort}/");

        var cookie = overHttps.Output.Split('\n').Single(l => l.StartsWith("set-cookie:", StringComparison.OrdinalIgnoreCase));
        Assert.Contains("; secure", cookie, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task PlainHttp_RedirectedToHttps_SameHostPathAndQuery()
    {
        var result = await ChildProcess.RunAsync(
            "curl",
            ["-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "-H", $"Host: {Host}", new Uri(site.Run.Site, "/guestbook?page=2").ToString()],
            TimeSpan.FromSeconds(20));

        Assert.Equal($"301 https://{Host}:{site.Run.HttpsPort}/guestbook?page=2", result.Output);
    }

    [Fact]
    public async Task PlainHttp_AcmeChallenge_ServedFromTheWebRoot()
    {
        using var response = await site.Run.GetAsync("/.well-known/acme-challenge/token-1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("token-1.key-authorization", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public void GeneratedFiles_KeysOwnerOnly_CertificateNamesTheSite()
    {
        var tls = Path.GetDirectoryName(site.Run.CaPath)!;
        using var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(tls, "cert.pem")));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(tls, "key.pem")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(tls, "ca-key.pem")));
        var names = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Contains(Host, names.EnumerateDnsNames());
        Assert.Contains(IPAddress.Parse("127.0.0.100"), names.EnumerateIPAddresses());
        Assert.Contains("Trust it with curl:  curl --cacert", site.UpOutput);
    }

    [Fact]
    public void SecondUp_SameCaAndCertificate_NothingToTrustAgain()
    {
        var tls = Path.GetDirectoryName(site.Run.CaPath)!;

        Assert.Equal(site.FirstFiles, Site.Files(tls));
        Assert.DoesNotContain("HTTPS:", site.SecondUpOutput);
    }

    [Fact]
    public void LoadBalancerProcesses_OpenSslDefaultsAreTheProfile_NoCipherListPerHandshake()
    {
        // strata lb made the profile OpenSSL's defaults (so handshakes share one OpenSSL context) and its check held.
        var tls = Path.GetDirectoryName(site.Run.CaPath)!;
        Assert.Contains("CipherString = " + Strata.Topology.VipTlsSpec.Tls12Ciphers, File.ReadAllText(Path.Combine(tls, "openssl.cnf")));
        foreach (var lb in new[] { "lb-1", "lb-2" })
        {
            var log = File.ReadAllText(Path.Combine(site.Run.Directory, ".strata", "logs", $"{lb}.log"));
            Assert.DoesNotContain("not Mozilla's intermediate profile", log);
            Assert.DoesNotContain("TLS defaults not set", log);
        }
    }

    [Fact]
    public async Task Metrics_CertificateExpiry()
    {
        var status = await site.Run.StatusAsync();
        var lb = status["nodes"]!.AsArray().First(n => n!["name"]!.GetValue<string>() == "lb-1")!;

        var metrics = await site.Run.Client.GetStringAsync(new Uri(new Uri(lb["managementUrl"]!.GetValue<string>()), "/metrics"));

        var line = metrics.Split('\n').Single(l => l.StartsWith("strata_tls_certificate_expiry_seconds{", StringComparison.Ordinal));
        var seconds = double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(seconds, TimeSpan.FromDays(390).TotalSeconds, TimeSpan.FromDays(398).TotalSeconds);
        Assert.Contains("www.foobar.com", line);
    }

    [Fact]
    public async Task Stats_TheServedCertificateAndItsExpiry()
    {
        var status = await site.Run.StatusAsync();
        var management = new Uri(status["nodes"]!.AsArray().First(n => n!["name"]!.GetValue<string>() == "lb-2")!["managementUrl"]!.GetValue<string>());

        var json = JsonNode.Parse(await site.Run.Client.GetStringAsync(new Uri(management, "/stats?format=json")))!;
        var html = await site.Run.Client.GetStringAsync(new Uri(management, "/stats"));

        var certificate = json["certificates"]!.AsArray().Single()!;
        Assert.Contains("www.foobar.com", certificate["names"]!.GetValue<string>());
        Assert.InRange(certificate["expiresInDays"]!.GetValue<double>(), 390, 398);
        Assert.Contains("<caption>TLS certificates</caption>", html);
        Assert.Contains("www.foobar.com", html);
    }

    [Fact]
    public async Task Rotation_NewHandshakesGetTheNewCertificate_NoRequestFails()
    {
        var tls = Path.GetDirectoryName(site.Run.CaPath)!;
        var before = await SerialAsync();
        using var client = TrustingClient();
        using var stop = new CancellationTokenSource();
        var failures = 0;
        var answered = 0;
        var load = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await client.GetAsync($"https://{Host}:{site.Run.HttpsPort}/api/messages");
                    Interlocked.Increment(ref response.IsSuccessStatusCode ? ref answered : ref failures);
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        });

        // A new certificate from the same CA (one more name), written over the files the load balancers serve.
        await Task.Delay(300);
        Strata.Hosting.Tls.LocalCertificateAuthority.Ensure(tls, [Host, "rotated.foobar.com"], [IPAddress.Parse("127.0.0.100")], TimeProvider.System);
        var rotated = await Eventually.TrueAsync(async () => await SerialAsync() != before, TimeSpan.FromSeconds(15));
        await Task.Delay(300);
        await stop.CancelAsync();
        await load;

        Assert.True(rotated, "the load balancer kept the old certificate");
        Assert.Equal(0, failures);
        Assert.True(answered > 0);
    }

    [Fact]
    public async Task RapidResetFlood_FloodingConnectionCutOff_OtherClientsServed()
    {
        var block = RequestHeaderBlock();

        // CVE-2023-44487: a stream opened (HEADERS, END_STREAM | END_HEADERS) and reset (RST_STREAM CANCEL) at once, again and again.
        var (streams, cutOff, failures, answered) = await FloodWhileServingAsync(
            i => [.. Frame(0x1, 0x5, 2 * i + 1, block), .. Frame(0x3, 0, 2 * i + 1, [0, 0, 0, 8])], maxRounds: 50_000);

        Assert.True(cutOff, $"the flooding connection was still open after {streams} streams opened and reset");
        Assert.Equal(0, failures);
        Assert.True(answered > 0);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(0)]
    public async Task ContinuationFlood_FloodingConnectionCutOff_OtherClientsServed(int fieldsPerFrame)
    {
        // CVE-2024-27316 and its family: a header block that never ends, one CONTINUATION frame after another, each
        // with header fields (the block grows) or empty (it never grows: only a count or a time limit stops it).
        byte[] fields = [.. Enumerable.Range(0, fieldsPerFrame).SelectMany(i => LiteralField($"x-flood-{i:D2}", new string('a', 100)))];
        var (frames, cutOff, failures, answered) = await FloodWhileServingAsync(
            i => i == 0 ? [.. Frame(0x1, 0x1, 1, RequestHeaderBlock()), .. Frame(0x9, 0, 1, fields)] : Frame(0x9, 0, 1, fields),
            maxRounds: 1_000_000);

        Assert.True(cutOff, $"the flooding connection was still open after {frames} CONTINUATION frames");
        Assert.Equal(0, failures);
        Assert.True(answered > 0);
    }

    /// <summary>
    /// Floods one HTTP/2 connection with the frames <paramref name="round"/> gives for round 0, 1, ... (at most
    /// <paramref name="maxRounds"/>, for at most 40 s) while another client fetches a file over its own connections.
    /// Written frame by frame, as no HTTP/2 client library sends a flood on purpose. Returns the rounds written, whether
    /// the server closed the flooding connection (GOAWAY or end of stream), and the other client's failures and answers.
    /// </summary>
    private async Task<(int Rounds, bool CutOff, int Failures, int Answered)> FloodWhileServingAsync(Func<int, byte[]> round, int maxRounds)
    {
        using var client = TrustingClient();
        using var stop = new CancellationTokenSource();
        var failures = 0;
        var answered = 0;
        var normal = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await client.GetAsync($"https://{Host}:{site.Run.HttpsPort}/static/site.css");
                    Interlocked.Increment(ref response.IsSuccessStatusCode ? ref answered : ref failures);
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        });

        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(IPAddress.Parse("127.0.0.100"), site.Run.HttpsPort);
        await using var tls = new System.Net.Security.SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
        {
            TargetHost = Host,
            ApplicationProtocols = [System.Net.Security.SslApplicationProtocol.Http2],
        });
        var closed = new TaskCompletionSource();
        _ = Task.Run(async () =>
        {
            // Read (and drop) what the server sends until it sends GOAWAY or closes.
            var buffer = new byte[64 * 1024];
            try
            {
                var header = new byte[9];
                while (true)
                {
                    await tls.ReadExactlyAsync(header);
                    var length = header[0] << 16 | header[1] << 8 | header[2];
                    await tls.ReadExactlyAsync(buffer.AsMemory(0, length));
                    if (header[3] == 0x7)
                    {
                        break;
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or EndOfStreamException or ObjectDisposedException)
            {
            }

            closed.TrySetResult();
        });

        await tls.WriteAsync("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray());
        await tls.WriteAsync(Frame(0x4, 0, 0, []));
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        var rounds = 0;
        try
        {
            for (; rounds < maxRounds && !deadline.IsCancellationRequested && !closed.Task.IsCompleted; rounds++)
            {
                await tls.WriteAsync(round(rounds), deadline.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // The server stopped reading and never closed: not cut off (the wait below says so).
        }
        catch (IOException)
        {
            // Written into a connection the server closed.
        }

        var cutOff = await Task.WhenAny(closed.Task, Task.Delay(TimeSpan.FromSeconds(5))) == closed.Task;
        await Task.Delay(500);
        await stop.CancelAsync();
        await normal;
        return (rounds, cutOff, failures, answered);
    }

    /// <summary>HPACK for GET https://www.foobar.com/: :method GET, :scheme https, :path /, :authority literal.</summary>
    private static byte[] RequestHeaderBlock()
    {
        var authority = System.Text.Encoding.ASCII.GetBytes(Host);
        return [0x82, 0x87, 0x84, 0x41, (byte)authority.Length, .. authority];
    }

    /// <summary>HPACK literal header field without indexing, new name (RFC 7541 6.2.2); name and value under 127 bytes.</summary>
    private static byte[] LiteralField(string name, string value) =>
        [0x00, (byte)name.Length, .. System.Text.Encoding.ASCII.GetBytes(name), (byte)value.Length, .. System.Text.Encoding.ASCII.GetBytes(value)];

    private static byte[] Frame(byte type, byte flags, int stream, byte[] payload) =>
        [(byte)(payload.Length >> 16), (byte)(payload.Length >> 8), (byte)payload.Length, type, flags,
            (byte)(stream >> 24), (byte)(stream >> 16), (byte)(stream >> 8), (byte)stream, .. payload];

    /// <summary>The serial of the certificate a new handshake for the site gets (openssl s_client).</summary>
    private async Task<string> SerialAsync()
    {
        var result = await ChildProcess.RunAsync(
            "/bin/sh",
            ["-c", $"echo | openssl s_client -connect 127.0.0.100:{site.Run.HttpsPort} -servername {Host} 2>/dev/null | openssl x509 -noout -serial"],
            TimeSpan.FromSeconds(20));
        return result.Output.Trim();
    }

    /// <summary>HttpClient over HTTP/2 that trusts the generated CA only, new connections now and then (each a handshake).</summary>
    private HttpClient TrustingClient() => TrustingHttpsClient.Create(site.Run.CaPath, TimeSpan.FromMilliseconds(200));

    private Task<ProcessResult> CurlAsync(params string[] arguments) => ChildProcess.RunAsync(
        "curl",
        ["--cacert", site.Run.CaPath, "--resolve", $"{Host}:{site.Run.HttpsPort}:127.0.0.100", "--max-time", "10", .. arguments],
        TimeSpan.FromSeconds(20));

    /// <summary>The repository's topology with <c>redirectHttp</c> on and a web root holding an ACME challenge, started once.</summary>
    public sealed class Site : IAsyncLifetime
    {
        internal EndToEndRun Run { get; } = EndToEndRun.Create(json =>
        {
            json["vip"]!["tls"]!["redirectHttp"] = true;
        });

        /// <summary>What the first <c>strata up</c> printed.</summary>
        public string UpOutput { get; private set; } = "";

        /// <summary>What <c>strata up</c> printed after a <c>down</c>: the run the tests use.</summary>
        public string SecondUpOutput { get; private set; } = "";

        /// <summary>The generated CA and certificate files after the first <c>up</c>.</summary>
        public string FirstFiles { get; private set; } = "";

        /// <summary>The CA's and the certificate's PEM files and keys, concatenated.</summary>
        public static string Files(string tls) =>
            string.Concat(new[] { "ca.pem", "ca-key.pem", "cert.pem", "key.pem" }.Select(f => File.ReadAllText(Path.Combine(tls, f))));

        public async Task InitializeAsync()
        {
            var root = Path.Combine(Run.Directory, "wwwroot");
            CopyDirectory(Path.Combine(TestTopology.RepositoryRoot, "wwwroot"), root);
            Directory.CreateDirectory(Path.Combine(root, ".well-known", "acme-challenge"));
            File.WriteAllText(Path.Combine(root, ".well-known", "acme-challenge", "token-1"), "token-1.key-authorization");
            File.WriteAllBytes(Path.Combine(root, "static", "large.bin"), System.Security.Cryptography.RandomNumberGenerator.GetBytes(8 * 1024 * 1024));
            var json = JsonNode.Parse(File.ReadAllText(Run.TopologyPath))!;
            json["web"]!["root"] = root;
            File.WriteAllText(Run.TopologyPath, json.ToJsonString());
            UpOutput = (await Run.StrataAsync(TimeSpan.FromSeconds(120), "up", "--detach")).Output;
            FirstFiles = Files(Path.GetDirectoryName(Run.CaPath)!);
            await Run.StrataAsync("down");
            SecondUpOutput = (await Run.StrataAsync(TimeSpan.FromSeconds(120), "up", "--detach")).Output;
        }

        public async Task DisposeAsync() => await Run.DisposeAsync();

        private static void CopyDirectory(string from, string to)
        {
            foreach (var directory in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            {
                Directory.CreateDirectory(directory.Replace(from, to, StringComparison.Ordinal));
            }

            Directory.CreateDirectory(to);
            foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
            {
                File.Copy(file, file.Replace(from, to, StringComparison.Ordinal));
            }
        }
    }
}
