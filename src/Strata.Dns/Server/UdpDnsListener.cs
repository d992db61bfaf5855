using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using ARSoft.Tools.Net.Dns;
using Microsoft.Extensions.Logging;
using Strata.Dns.RateLimiting;
using Strata.Dns.Zone;
using Strata.Topology;

namespace Strata.Dns.Server;

/// <summary>
/// The DNS node's UDP side: reads a query, answers it from the <see cref="ZoneAuthority"/>, and decides what goes back
/// (nothing, a truncated answer, or the answer within the size the client takes), rate limited per client network.
/// </summary>
/// <remarks>
/// Written by hand in place of ARSoft's UdpServerTransport and DnsServer, which cannot do what UDP under abuse needs:
/// they cannot leave a query unanswered (a handler that sets no response gets SERVFAIL sent), so neither rate limiting
/// nor silence towards a response sent as a query; they read 512 bytes of a datagram at most; they start a task per
/// datagram with no bound, so a flood queues work without limit; and each malformed datagram costs two exceptions and a
/// Trace line. Here a fixed number of loops each read a datagram, answer it and send before reading the next: a flood
/// beyond what they answer waits in the socket's receive buffer, which the kernel bounds and drops from. The messages
/// stay ARSoft's: it parses the query, the zone builds the response, its encoder writes it.
/// </remarks>
internal sealed class UdpDnsListener : IDisposable
{
    /// <summary>Without EDNS a UDP response carries 512 bytes at most (RFC 1035 §4.2.1), and EDNS sizes below it mean 512 (RFC 6891 §6.2.5).</summary>
    public const int MinPayloadSize = 512;

    /// <summary>The largest UDP payload: a datagram is always read whole, however large.</summary>
    private const int MaxDatagram = 65_507;

    private const int HeaderSize = 12;

    private readonly NodeSpec _node;
    private readonly ZoneAuthority _authority;
    private readonly ResponseRateLimiter _limiter;
    private readonly DnsMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Socket _socket;
    private readonly CancellationTokenSource _stopping = new();

    public UdpDnsListener(NodeSpec node, ZoneAuthority authority, ResponseRateLimiter limiter, DnsMetrics metrics, ILogger logger)
    {
        _node = node;
        _authority = authority;
        _limiter = limiter;
        _metrics = metrics;
        _logger = logger;
        _socket = new Socket(node.Address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
    }

    /// <summary>Binds the node's address; throws <see cref="SocketException"/> when it cannot.</summary>
    public void Bind() => _socket.Bind(_node.Address);

    /// <summary>Starts one receive loop per core.</summary>
    public void Start()
    {
        for (var i = 0; i < Environment.ProcessorCount; i++)
        {
            _ = Task.Run(() => ReceiveLoopAsync(_stopping.Token));
        }
    }

    /// <summary>Stops the loops and closes the socket; returns at once.</summary>
    public void Dispose()
    {
        _stopping.Cancel();
        _socket.Dispose();
    }

    /// <summary>
    /// The bytes to send back for one datagram from <paramref name="client"/>; empty for none. Sent back over UDP, so
    /// never more than the client takes: the query's EDNS size within 512..<see cref="ZoneAuthority.EdnsPayloadSize"/>,
    /// or 512 without EDNS.
    /// </summary>
    private ArraySegment<byte> Respond(ArraySegment<byte> datagram, IPAddress client)
    {
        // Not a query: shorter than a header, or a response (QR set), which answering could bounce between two servers
        // forever. Dropped before anything else, and not counted: nothing is sent.
        if (datagram.Count < HeaderSize || (datagram[2] & 0x80) != 0)
        {
            return default;
        }

        var verdict = _limiter.Check(client);
        if (verdict == RateLimitVerdict.Drop)
        {
            _metrics.Limited(verdict);
            return default;
        }

        var query = Parse(datagram);
        var response = query is null ? FormatError(datagram) : _authority.Answer(query);
        _metrics.Answered(tcp: false, query, response.ReturnCode);
        if (verdict == RateLimitVerdict.Slip)
        {
            _metrics.Limited(verdict);
            Truncate(response);
        }

        var limit = query?.EDnsOptions is { } opt ? Math.Clamp((int)opt.UdpPayloadSize, MinPayloadSize, ZoneAuthority.EdnsPayloadSize) : MinPayloadSize;
        var wire = Encode(response).ToArraySegment(false);
        if (wire.Count > limit)
        {
            // What is left (the header, at most one question of 259 bytes, OPT) always fits 512.
            Truncate(response);
            wire = Encode(response).ToArraySegment(false);
        }

        return wire;
    }

    /// <summary>
    /// RFC 2181 §9: TC=1 says the answer is incomplete and the client asks again over TCP, so nothing partial is kept;
    /// the question and OPT stay.
    /// </summary>
    private static void Truncate(DnsMessage response)
    {
        response.IsTruncated = true;
        response.AnswerRecords.Clear();
        response.AuthorityRecords.Clear();
        response.AdditionalRecords.RemoveAll(r => r is not OptRecord);
    }

    // ARSoft 3.6.1 turns a message into bytes only inside its own DnsServer and DnsClient (DnsMessageBase.Encode is
    // internal): this calls that encoder, the one its server uses. Another version without it fails every UDP test at
    // the first answer (MissingMethodException), not silently.
    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "Encode")]
    private static extern DnsRawPackage Encode(DnsMessageBase message);

    private static DnsMessage? Parse(ArraySegment<byte> datagram)
    {
        // Counts the datagram cannot hold (a question takes 5 bytes at least, a record 11) are refused before ARSoft,
        // which sizes its lists by them: 12 bytes claiming 65,535 of each would cost it megabytes.
        var header = datagram.AsSpan();
        var questions = BinaryPrimitives.ReadUInt16BigEndian(header[4..]);
        var records = BinaryPrimitives.ReadUInt16BigEndian(header[6..]) + BinaryPrimitives.ReadUInt16BigEndian(header[8..])
            + BinaryPrimitives.ReadUInt16BigEndian(header[10..]);
        if (HeaderSize + (questions * 5) + (records * 11) > datagram.Count)
        {
            return null;
        }

        try
        {
            return DnsMessage.Parse(datagram);
        }
        catch (Exception)
        {
            // ARSoft throws whatever its reading runs into (out of range, bad label, unsupported label type...).
            return null;
        }
    }

    /// <summary>
    /// FORMERR to a datagram ARSoft could not parse (it parses all or nothing), with the id, opcode and RD read from the
    /// header by hand (RFC 1035 §4.1.1): 12 bytes, never more than the query.
    /// </summary>
    private static DnsMessage FormatError(ArraySegment<byte> datagram)
    {
        var flags = BinaryPrimitives.ReadUInt16BigEndian(datagram.AsSpan(2));
        return new DnsMessage
        {
            TransactionID = BinaryPrimitives.ReadUInt16BigEndian(datagram.AsSpan()),
            IsQuery = false,
            OperationCode = (OperationCode)((flags >> 11) & 0xF),
            IsRecursionDesired = (flags & 0x0100) != 0,
            ReturnCode = ReturnCode.FormatError,
        };
    }

    private async Task ReceiveLoopAsync(CancellationToken stopping)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(MaxDatagram);
        var anyClient = new IPEndPoint(_node.Address.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                var received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, anyClient, stopping);
                var client = (IPEndPoint)received.RemoteEndPoint;
                var response = Respond(new ArraySegment<byte>(buffer, 0, received.ReceivedBytes), client.Address);
                if (response.Count > 0)
                {
                    await _socket.SendToAsync(response, SocketFlags.None, client, stopping);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                // That datagram only: a send the network refused, or an ICMP error reported on the socket.
            }
            catch (Exception ex)
            {
                // A bug must not stop the listener; at Debug, so that a datagram that triggers it cannot fill the log.
                DnsServerLog.QueryFailed(_logger, _node.Name, ex);
            }
        }
    }
}
