using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Strata.Proxy;

namespace Strata.Tests.EndToEnd;

/// <summary>
/// Slow clients against the shared topology, whose client timeout is <see cref="SeedTopology.ClientTimeout"/>: a bounded
/// flood of connections that send their head a byte a second (slowloris), send nothing, send their body a byte a
/// second, or read nothing of a large answer, from several loopback addresses, on both of a load balancer's ways in
/// (the VIP's connection path, Kestrel on its own address) and on a web node, while a normal client is served through
/// the VIP. Each slow connection must be closed by its documented limit (docs/security.md, "Slow clients"), not before
/// and not long after; the normal client must see no error and no answer slower than that limit.
/// </summary>
public sealed partial class HostileRequestTests
{
    /// <summary>Beyond its limit, how long a slow connection may stay open: the timers tick once a second, and the machine is shared.</summary>
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(5);

    private enum SlowKind
    {
        /// <summary>A request head, then one more byte of a header each second.</summary>
        Slowloris,

        /// <summary>A connection that sends nothing.</summary>
        Idle,

        /// <summary>A POST's head, then one byte of its 100,000-byte body each second.</summary>
        SlowBody,

        /// <summary>A GET of /static/big.bin, then nothing read.</summary>
        SlowReader,
    }

    [Fact]
    public async Task SlowClients_FloodOnBothWaysIn_EachClosedByItsLimit_NormalClientServedBeside()
    {
        var before = await topology.BlameAsync();
        var vip = IPEndPoint.Parse($"{topology.Run.Site.Host}:{topology.Run.Site.Port}");
        var (lb, web) = (topology.Address("lb-1"), topology.Address("web-1"));
        var clientTimeout = SeedTopology.ClientTimeout;
        var bodyGrace = ProxyServiceCollectionExtensions.MinBodyRateGracePeriod;

        // 300 connections: 200 slowloris, 60 idle, 30 slow bodies, 10 slow readers.
        var flood = new List<(SlowKind Kind, IPEndPoint Target, TimeSpan Limit)>();
        void Add(int count, SlowKind kind, IPEndPoint target, TimeSpan limit) => flood.AddRange(Enumerable.Repeat((kind, target, limit), count));
        Add(100, SlowKind.Slowloris, vip, clientTimeout);
        Add(50, SlowKind.Slowloris, lb, clientTimeout);
        Add(50, SlowKind.Slowloris, web, clientTimeout);
        foreach (var target in new[] { vip, lb, web })
        {
            Add(20, SlowKind.Idle, target, clientTimeout);
            Add(10, SlowKind.SlowBody, target, bodyGrace);
        }

        Add(5, SlowKind.SlowReader, vip, clientTimeout);
        Add(5, SlowKind.SlowReader, lb, clientTimeout);

        string?[] outcomes;
        await using (var normal = NormalLoad.Start(topology.Run))
        {
            outcomes = await Task.WhenAll(flood.Select((slow, i) =>
                SlowClientAsync(slow.Kind, IPAddress.Parse($"127.0.0.{61 + (i % 8)}"), slow.Target, slow.Limit)));

            var served = await normal.StopAsync();
            Assert.True(served.Answered > 0, "the normal client was never answered");
            Assert.True(served.Failed.Count == 0, $"the normal client saw {served.Failed.Count} errors: {string.Join("; ", served.Failed.Take(5))}");
            Assert.True(served.Slowest < clientTimeout, $"the normal client waited {served.Slowest.TotalSeconds:0.0} s for an answer");
        }

        var wrong = outcomes.Where(o => o is not null).ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {flood.Count} slow clients were not closed by their limit:\n{string.Join("\n", wrong.Take(20))}");
        await topology.AssertNoBlameSinceAsync(before);
    }

    /// <summary>One slow client; null when it was closed within [limit, limit + margin], else what happened.</summary>
    private static async Task<string?> SlowClientAsync(SlowKind kind, IPAddress source, IPEndPoint target, TimeSpan limit)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        if (kind == SlowKind.SlowReader)
        {
            // Small, so that the answer fills the load balancer's buffers rather than this one.
            socket.ReceiveBufferSize = 4096;
        }

        socket.Bind(new IPEndPoint(source, 0));
        using var bound = new CancellationTokenSource(limit + Margin + TimeSpan.FromSeconds(10));
        var name = $"{kind} from {source} to {target}";
        try
        {
            await socket.ConnectAsync(target, bound.Token);
            var clock = Stopwatch.StartNew();
            var head = kind switch
            {
                SlowKind.Slowloris => "GET /api/messages?limit=1 HTTP/1.1\r\nHost: www.foobar.com\r\nX-Slow: ",
                SlowKind.SlowBody => "POST /api/messages HTTP/1.1\r\nHost: www.foobar.com\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
                SlowKind.SlowReader => "GET /static/big.bin HTTP/1.1\r\nHost: www.foobar.com\r\n\r\n",
                _ => "",
            };
            await socket.SendAsync(Encoding.ASCII.GetBytes(head), SocketFlags.None, bound.Token);
            if (kind == SlowKind.SlowReader)
            {
                // Nothing read until the limit has passed; then what is left must be only what was buffered.
                await Task.Delay(limit + Margin, bound.Token);
                var received = await ReadToEndAsync(socket, bound.Token);
                return received < SeedTopology.BigFileBytes ? null : $"{name}: the whole answer came, the client was never cut off";
            }

            using var trickling = CancellationTokenSource.CreateLinkedTokenSource(bound.Token);
            var trickle = kind == SlowKind.Idle ? Task.CompletedTask : TrickleAsync(socket, trickling.Token);
            await ReadToEndAsync(socket, bound.Token);
            var closed = clock.Elapsed;
            await trickling.CancelAsync();
            await trickle;
            return closed >= limit - TimeSpan.FromMilliseconds(100) && closed <= limit + Margin
                ? null
                : $"{name}: closed after {closed.TotalSeconds:0.0} s, its limit is {limit.TotalSeconds:0} s";
        }
        catch (OperationCanceledException)
        {
            return $"{name}: still open after {(limit + Margin).TotalSeconds + 10:0} s";
        }
    }

    /// <summary>One byte a second until the connection ends or the test stops it.</summary>
    private static async Task TrickleAsync(Socket socket, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                await socket.SendAsync("a"u8.ToArray(), SocketFlags.None, cancellationToken);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException)
        {
        }
    }

    /// <summary>Reads until the server closes or resets the connection; returns the bytes received.</summary>
    private static async Task<long> ReadToEndAsync(Socket socket, CancellationToken cancellationToken)
    {
        var (buffer, received) = (new byte[64 * 1024], 0L);
        try
        {
            for (int n; (n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken)) > 0;)
            {
                received += n;
            }
        }
        catch (SocketException)
        {
            // Reset: closed too.
        }

        return received;
    }
}
