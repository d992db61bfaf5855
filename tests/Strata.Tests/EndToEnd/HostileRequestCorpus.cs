using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Strata.Tests.EndToEnd;

/// <summary>The tiers a hostile request is sent to; <see cref="Lb"/> stands for both the VIP and a load balancer's own address.</summary>
internal enum Tier
{
    Lb,
    Web,
    App,
}

/// <summary>
/// One request of the corpus: its exact bytes, the status each tier must answer (0: none, the connection closed), and
/// the tiers that must close the connection after their answer (<paramref name="Close"/>: the request's framing is in
/// doubt, so nothing after it may be read as another request).
/// </summary>
internal sealed record HostileRequest(string Name, byte[] Bytes, IReadOnlyDictionary<Tier, int> Expected, IReadOnlySet<Tier> Close)
{
    public override string ToString() => Name;
}

/// <summary>
/// Reads the regression corpus of hostile requests (HostileRequests/*.http and variants.txt, whose headers say the
/// format: requests.http's for every .http file) into requests with their bytes.
/// </summary>
internal static class HostileRequestCorpus
{
    private const string Body = """{"author":"corpus","text":"x"}""";

    private static readonly string[] Options = ["expect:", "eol:", "close:", "end:"];

    private static string Folder => Path.Combine(AppContext.BaseDirectory, "EndToEnd", "HostileRequests");

    /// <summary>Every case of every file: the *.http files (requests.http first, then by name) and variants.txt.</summary>
    public static IReadOnlyList<HostileRequest> Load() =>
    [
        .. Directory.GetFiles(Folder, "*.http").OrderBy(f => Path.GetFileName(f) != "requests.http").ThenBy(f => f, StringComparer.Ordinal)
            .SelectMany(f => Cases(File.ReadAllText(f))),
        .. Variants(File.ReadAllLines(Path.Combine(Folder, "variants.txt"))),
    ];

    private static IEnumerable<HostileRequest> Cases(string text)
    {
        foreach (var block in text.Split("\n### ").Skip(1))
        {
            // {repeat N TEXT}: TEXT N times, for requests over a size limit.
            var lines = Regex.Replace(block, @"\{repeat (\d+) ([^}]*)\}", m => string.Concat(Enumerable.Repeat(m.Groups[2].Value, int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))))
                .Split('\n').ToList();
            var name = lines[0].Trim();
            var expected = new Dictionary<Tier, int>();
            var (eol, end) = ("\r\n", "\r\n\r\n");
            var close = new HashSet<Tier>();
            var at = 1;
            for (; at < lines.Count && Options.FirstOrDefault(lines[at].StartsWith) is { } option; at++)
            {
                var value = lines[at][option.Length..].Trim();
                switch (option, value)
                {
                    case ("expect:", _):
                        expected = Expectations(name, value);
                        break;
                    case ("eol:", "lf"):
                        (eol, end) = ("\n", "\n\n");
                        break;
                    case ("close:", "yes"):
                        close.UnionWith(Enum.GetValues<Tier>());
                        break;
                    case ("close:", _):
                        close.UnionWith(value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(t => Enum.Parse<Tier>(t, ignoreCase: true)));
                        break;
                    case ("end:", "line"):
                        end = eol;
                        break;
                    default:
                        throw new FormatException($"{name}: '{lines[at]}' is not an option (eol: lf, close: yes or tiers, end: line)");
                }
            }

            var blank = lines.IndexOf("", at);
            var head = lines[at..(blank < 0 ? lines.Count : blank)];
            var bodyBytes = Bytes(blank < 0 ? "" : string.Join("\r\n", lines[(blank + 1)..]).TrimEnd('\r', '\n'));
            var request = string.Join(eol, head).Replace("{length}", bodyBytes.Length.ToString(CultureInfo.InvariantCulture)) + end;
            yield return new HostileRequest(name, [.. Bytes(request), .. bodyBytes], expected, close);
        }
    }

    private static IEnumerable<HostileRequest> Variants(string[] lines)
    {
        foreach (var line in lines.Where(l => l.Length > 0 && l[0] != '#'))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var (kind, value) = (fields[0], fields[1]);
            var expected = new Dictionary<Tier, int>
            {
                [Tier.Lb] = int.Parse(fields[2], CultureInfo.InvariantCulture),
                [Tier.Web] = int.Parse(fields[3], CultureInfo.InvariantCulture),
                [Tier.App] = int.Parse(fields[4], CultureInfo.InvariantCulture),
            };
            var values = kind.StartsWith("value-", StringComparison.Ordinal) ? Range(value) : [value];
            foreach (var v in values)
            {
                var request = kind switch
                {
                    "connection-get" => Get($"Connection: {v}\r\n{Named(v)}"),
                    "connection-post" => Post($"Connection: {v}\r\n{Named(v)}"),
                    "value-get" => Get($"X-A: a{v}b\r\n"),
                    "value-post" => Post($"X-A: a{v}b\r\n"),
                    "method" => $"{v} /api/messages?limit=1 HTTP/1.1\r\nHost: www.foobar.com\r\n\r\n",
                    _ => throw new FormatException($"variants.txt: unknown kind '{kind}' in: {line}"),
                };
                yield return new HostileRequest($"{kind} {v}", Bytes(request), expected, new HashSet<Tier>());
            }
        }

        // The header named in Connection, so that there is something to remove, unless it is a framing header or already there.
        static string Named(string name) =>
            name is "Content-Length" or "Transfer-Encoding" or "Host" or "Content-Type" ? "" : $"{name}: x\r\n";

        static string Get(string headers) => $"GET /api/messages?limit=1 HTTP/1.1\r\nHost: www.foobar.com\r\n{headers}\r\n";

        static string Post(string headers) =>
            $"POST /api/messages HTTP/1.1\r\nHost: www.foobar.com\r\nContent-Type: application/json\r\n{headers}Content-Length: {Body.Length}\r\n\r\n{Body}";
    }

    /// <summary>"400" for every tier, or "lb=400 web=400 app=201".</summary>
    private static Dictionary<Tier, int> Expectations(string name, string text)
    {
        if (int.TryParse(text, CultureInfo.InvariantCulture, out var all))
        {
            return new() { [Tier.Lb] = all, [Tier.Web] = all, [Tier.App] = all };
        }

        var expected = text.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('='))
            .ToDictionary(pair => Enum.Parse<Tier>(pair[0], ignoreCase: true), pair => int.Parse(pair[1], CultureInfo.InvariantCulture));
        return expected.Count == 3 ? expected : throw new FormatException($"{name}: expect names lb, web and app");
    }

    /// <summary>"\x01..\x08" as each byte of the range; anything else as itself.</summary>
    private static IEnumerable<string> Range(string value)
    {
        var dots = value.IndexOf("..", StringComparison.Ordinal);
        if (dots < 0)
        {
            return [value];
        }

        var from = Convert.ToByte(value[2..dots], 16);
        var to = Convert.ToByte(value[(dots + 4)..], 16);
        return Enumerable.Range(from, to - from + 1).Select(b => $"\\x{b:X2}");
    }

    /// <summary>The text's bytes, with \xHH as one byte and \\ as a backslash; other characters as UTF-8.</summary>
    private static byte[] Bytes(string text)
    {
        var bytes = new List<byte>(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\' && i + 1 < text.Length && text[i + 1] == '\\')
            {
                bytes.Add((byte)'\\');
                i++;
            }
            else if (text[i] == '\\' && i + 3 < text.Length && text[i + 1] == 'x')
            {
                bytes.Add(Convert.ToByte(text.Substring(i + 2, 2), 16));
                i += 3;
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(text[i].ToString()));
            }
        }

        return [.. bytes];
    }

    /// <summary>
    /// Sends <paramref name="request"/> on a new connection and returns the status of the answer, or 0 and a description of
    /// what came instead (nothing within <paramref name="timeout"/>, the connection closed or reset). With
    /// <paramref name="awaitClose"/>, it then waits, within the same time, for the server to close the connection.
    /// </summary>
    public static async Task<(int Status, bool Closed, string Detail)> SendAsync(IPEndPoint target, byte[] request, TimeSpan timeout, bool awaitClose = false)
    {
        using var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var limit = new CancellationTokenSource(timeout);
        var received = new List<byte>();
        var buffer = new byte[4096];
        try
        {
            await socket.ConnectAsync(target, limit.Token);
            // Sent beside the reads: a server may answer (413) and close before it has read a large body.
            _ = SendQuietlyAsync(socket, request, limit.Token);
            while (received.IndexOf((byte)'\n') < 0)
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, limit.Token);
                if (n == 0)
                {
                    return (0, true, "the connection closed without an answer");
                }

                received.AddRange(buffer.AsSpan(0, n));
            }
        }
        catch (OperationCanceledException)
        {
            return (0, false, $"no answer within {timeout.TotalSeconds:0} s");
        }
        catch (SocketException e)
        {
            return (0, true, $"the connection failed: {e.SocketErrorCode}");
        }

        var statusLine = Encoding.Latin1.GetString([.. received]).Split('\n')[0].TrimEnd('\r');
        var parts = statusLine.Split(' ');
        if (parts.Length < 2 || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out var status))
        {
            return (0, false, $"not an HTTP answer: {statusLine}");
        }

        if (!awaitClose)
        {
            return (status, false, statusLine);
        }

        var closed = await ClosedAsync(socket, buffer, limit.Token);
        return (status, closed, closed ? statusLine : $"{statusLine}, the connection still open after {timeout.TotalSeconds:0} s");
    }

    private static async Task SendQuietlyAsync(Socket socket, byte[] request, CancellationToken cancellationToken)
    {
        try
        {
            await socket.SendAsync(request, SocketFlags.None, cancellationToken);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The server closed first, or the answer was read and the socket disposed: the answer tells.
        }
    }

    /// <summary>Reads the rest of the answer until the server closes the connection (true) or the time is up (false).</summary>
    private static async Task<bool> ClosedAsync(Socket socket, byte[] buffer, CancellationToken cancellationToken)
    {
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken) > 0)
            {
            }

            return true;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
