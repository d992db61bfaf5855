using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Strata.Topology;
using Strata.Web.Static;

namespace Strata.Tests.Web.Static;

/// <summary>
/// A real Kestrel server on 127.0.0.1:0 running the static site over a temporary web root, followed by a terminal
/// middleware standing for the app tier: it counts requests and answers "forwarded". Beside the root lies an
/// "outside" folder holding a secret that no request may read.
/// </summary>
internal sealed class StaticSiteHost : IAsyncDisposable
{
    public const string Secret = "TOP SECRET outside the root";
    public const string GitConfig = "[core] repositoryformatversion = 0";

    private readonly WebApplication _app;
    private readonly string _parent;
    private int _forwarded;

    private StaticSiteHost(WebApplication app, string parent, HotFileCache files)
    {
        _app = app;
        _parent = parent;
        Files = files;
        Client = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
        })
        {
            BaseAddress = new Uri(app.Urls.First()),
            Timeout = TimeSpan.FromSeconds(10),
        };
    }

    /// <summary>The web root.</summary>
    public string Root => Path.Combine(_parent, "www");

    /// <summary>A folder beside the root.</summary>
    public string Outside => Path.Combine(_parent, "outside");

    /// <summary>The name of the folder beside the root, for traversal attempts.</summary>
    public const string OutsideName = "outside";

    public HotFileCache Files { get; }

    public HttpClient Client { get; }

    /// <summary>Requests that reached the app-tier stand-in.</summary>
    public int Forwarded => Volatile.Read(ref _forwarded);

    /// <summary>A 2 KiB compressible script, above the default 1 KiB threshold.</summary>
    public static readonly string BigScript = string.Concat(Enumerable.Repeat("console.log('strata static files');\n", 60));

    public static async Task<StaticSiteHost> StartAsync(WebSpec? spec = null)
    {
        spec ??= WebSpec.Default;
        var parent = Directory.CreateTempSubdirectory("strata-static-").FullName;
        Seed(parent);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var files = new HotFileCache(Path.Combine(parent, "www"), spec);
        StaticSiteHost? host = null;
        app.UseStaticSite(files, spec, "web-1");
        app.Run(context =>
        {
            Interlocked.Increment(ref host!._forwarded);
            return context.Response.WriteAsync("forwarded");
        });
        await app.StartAsync();
        host = new StaticSiteHost(app, parent, files);
        return host;
    }

    /// <summary>Writes a file under the root (creating folders), returning its full path.</summary>
    public string Write(string relative, string content) => WriteFile(Root, relative, Encoding.UTF8.GetBytes(content));

    /// <summary>Sends <paramref name="target"/> byte for byte over TCP and returns the whole answer.</summary>
    public async Task<(int Status, string Text)> RawGetAsync(string target)
    {
        var uri = Client.BaseAddress!;
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, uri.Port);
        await socket.SendAsync(Encoding.Latin1.GetBytes($"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
        var answer = new MemoryStream();
        var buffer = new byte[8192];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            answer.Write(buffer, 0, read);
        }

        var text = Encoding.Latin1.GetString(answer.ToArray());
        var status = int.Parse(text.Split(' ', 3)[1], System.Globalization.CultureInfo.InvariantCulture);
        return (status, text);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Files.Dispose();
        Directory.Delete(_parent, recursive: true);
    }

    public static byte[] Brotli(string text)
    {
        using var output = new MemoryStream();
        using (var brotli = new BrotliStream(output, CompressionLevel.Optimal))
        {
            brotli.Write(Encoding.UTF8.GetBytes(text));
        }

        return output.ToArray();
    }

    public static byte[] Gzip(string text)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }

        return output.ToArray();
    }

    public static string Unbrotli(byte[] bytes)
    {
        using var brotli = new BrotliStream(new MemoryStream(bytes), CompressionMode.Decompress);
        using var reader = new StreamReader(brotli);
        return reader.ReadToEnd();
    }

    public static string Ungzip(byte[] bytes)
    {
        using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);
        return reader.ReadToEnd();
    }

    /// <summary>A header from the response or its content as sent (not reformatted), or "" when absent.</summary>
    public static string Header(HttpResponseMessage response, string name) =>
        response.Headers.NonValidated.TryGetValues(name, out var values) || response.Content.Headers.NonValidated.TryGetValues(name, out values)
            ? string.Join(", ", values)
            : "";

    private static void Seed(string parent)
    {
        var root = Path.Combine(parent, "www");
        var outside = Path.Combine(parent, "outside");
        WriteFile(outside, "secret.txt", Encoding.UTF8.GetBytes(Secret));
        WriteFile(root, "index.html", "<h1>home</h1>"u8.ToArray());
        WriteFile(root, "docs/index.html", "<h1>docs</h1>"u8.ToArray());
        WriteFile(root, "empty/readme.md", "no index here"u8.ToArray());
        WriteFile(root, "static/site.css", "body { color: black; }"u8.ToArray());
        WriteFile(root, "static/app.3f2a9c1b.js", Encoding.UTF8.GetBytes(BigScript));
        WriteFile(root, "static/digits.txt", "0123456789abcdefghijklmnopqrstuvwxyz"u8.ToArray());
        WriteFile(root, "static/logo.png", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]);
        WriteFile(root, "static/pre.js", Encoding.UTF8.GetBytes(BigScript));
        WriteFile(root, "static/pre.js.br", Brotli(BigScript));
        WriteFile(root, "static/pre.js.gz", Gzip(BigScript));
        WriteFile(root, "static/gzonly.css", Encoding.UTF8.GetBytes(BigScript));
        WriteFile(root, "static/gzonly.css.gz", Gzip(BigScript));
        WriteFile(root, "api/data.json", "{\"from\":\"disk\"}"u8.ToArray());
        WriteFile(root, "404.html", "<h1>custom not found</h1>"u8.ToArray());
        WriteFile(root, ".git/config", Encoding.UTF8.GetBytes(GitConfig));
        WriteFile(root, ".env", "PASSWORD=hunter2"u8.ToArray());
        WriteFile(root, "a/.hidden/x", "hidden"u8.ToArray());
        File.CreateSymbolicLink(Path.Combine(root, "static/leak.txt"), Path.Combine(outside, "secret.txt"));
        File.CreateSymbolicLink(Path.Combine(root, "leak.txt"), "../outside/secret.txt");
        Directory.CreateSymbolicLink(Path.Combine(root, "linkdir"), outside);
        File.CreateSymbolicLink(Path.Combine(root, "static/inner.css"), "site.css");
        Directory.CreateSymbolicLink(Path.Combine(root, "gitlink"), ".git");
    }

    private static string WriteFile(string directory, string relative, byte[] content)
    {
        var path = Path.Combine(directory, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        return path;
    }
}
