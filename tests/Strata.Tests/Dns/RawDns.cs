using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Strata.Tests.Dns;

/// <summary>
/// DNS messages written byte by byte (RFC 1035 §4.1, RFC 6891 §6.1.2), for what no client library sends: malformed,
/// truncated and hostile queries.
/// </summary>
internal static class RawDns
{
    public const ushort TypeA = 1;
    public const ushort ClassIn = 1;

    /// <summary>RD, as dig sets it.</summary>
    public const ushort RecursionDesired = 0x0100;

    /// <summary>A 12-byte header.</summary>
    public static byte[] Header(ushort flags, ushort questions, ushort answers = 0, ushort authority = 0, ushort additional = 0, ushort id = 0x1234)
    {
        var header = new byte[12];
        ushort[] fields = [id, flags, questions, answers, authority, additional];
        for (var i = 0; i < fields.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(i * 2), fields[i]);
        }

        return header;
    }

    /// <summary>A name as labels, uncompressed.</summary>
    public static byte[] Name(string name) =>
    [
        .. name.Split('.', StringSplitOptions.RemoveEmptyEntries).SelectMany(label => (byte[])[(byte)label.Length, .. Encoding.ASCII.GetBytes(label)]),
        0,
    ];

    /// <summary>A question entry: name, type, class.</summary>
    public static byte[] Question(string name, ushort type = TypeA, ushort recordClass = ClassIn) =>
        [.. Name(name), (byte)(type >> 8), (byte)type, (byte)(recordClass >> 8), (byte)recordClass];

    /// <summary>An OPT pseudo-record: root owner, type 41, the payload size as class, extended rcode 0, a version, no options.</summary>
    public static byte[] Opt(ushort payloadSize = 1232, byte version = 0) =>
        [0, 0, 41, (byte)(payloadSize >> 8), (byte)payloadSize, 0, version, 0, 0, 0, 0];

    /// <summary>A query for one question, with an OPT record when <paramref name="payloadSize"/> is given.</summary>
    public static byte[] Query(string name = "www.foobar.com", ushort type = TypeA, ushort recordClass = ClassIn, ushort flags = RecursionDesired, ushort? payloadSize = null, ushort id = 0x1234) =>
    [
        .. Header(flags, 1, additional: (ushort)(payloadSize is null ? 0 : 1), id: id),
        .. Question(name, type, recordClass),
        .. payloadSize is { } size ? Opt(size) : [],
    ];

    /// <summary>
    /// Sends one message over TCP (2-byte length prefix, RFC 1035 §4.2.2) and reads one back; null when the connection
    /// closes or nothing comes in time.
    /// </summary>
    public static async Task<byte[]?> ExchangeTcpAsync(int port, byte[] message, TimeSpan timeout)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = tcp.GetStream();
        await stream.WriteAsync((byte[])[(byte)(message.Length >> 8), (byte)message.Length, .. message]);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            var length = new byte[2];
            await stream.ReadExactlyAsync(length, cts.Token);
            var response = new byte[BinaryPrimitives.ReadUInt16BigEndian(length)];
            await stream.ReadExactlyAsync(response, cts.Token);
            return response;
        }
        catch (Exception ex) when (ex is OperationCanceledException or EndOfStreamException or IOException)
        {
            return null;
        }
    }
}

/// <summary>A UDP client on a chosen loopback source address, so that a test picks the client network the node sees.</summary>
internal sealed class RawUdpClient : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly IPEndPoint _server;

    public RawUdpClient(IPAddress source, int serverPort)
    {
        _socket.Bind(new IPEndPoint(source, 0));
        _server = new IPEndPoint(IPAddress.Loopback, serverPort);
    }

    public Task SendAsync(byte[] datagram) => _socket.SendToAsync(datagram, SocketFlags.None, _server);

    /// <summary>The next datagram, or null when none comes within <paramref name="timeout"/>.</summary>
    public async Task<byte[]?> ReceiveAsync(TimeSpan timeout)
    {
        var buffer = new byte[65_535];
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            var length = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            return buffer[..length];
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public async Task<byte[]?> ExchangeAsync(byte[] datagram, TimeSpan timeout)
    {
        await SendAsync(datagram);
        return await ReceiveAsync(timeout);
    }

    public void Dispose() => _socket.Dispose();
}

/// <summary>
/// Client networks for the tests, a /24 each (127.0.N.0/24, N from 100 up), so that what one test sends never counts
/// against another's rate limit.
/// </summary>
internal static class ClientNetworks
{
    private static int _next = 99;

    /// <summary>127.0.N.1 of a /24 no other test uses; .2, .3... are in the same network.</summary>
    public static IPAddress Next()
    {
        var n = Interlocked.Increment(ref _next);
        Assert.True(n < 256, "more client networks than 127.0.100-255.0/24");
        return new IPAddress([127, 0, (byte)n, 1]);
    }

    /// <summary>Another address in the same /24 as <paramref name="address"/>.</summary>
    public static IPAddress Neighbour(IPAddress address, byte host)
    {
        var bytes = address.GetAddressBytes();
        bytes[3] = host;
        return new IPAddress(bytes);
    }
}
