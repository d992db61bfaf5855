using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using ARSoft.Tools.Net.Dns;
using static Strata.Tests.Dns.RawDns;

namespace Strata.Tests.Dns;

/// <summary>
/// Malformed, truncated, oversized and odd queries sent to a real node: each gets its answer or is dropped, the node
/// stays up and answers dig afterwards, nothing fills the log, and no UDP answer is larger than the client takes.
/// </summary>
public class DnsHostileQueryTests(DnsNodeFixture node) : IClassFixture<DnsNodeFixture>
{
    private static readonly TimeSpan Answered = TimeSpan.FromSeconds(3);

    // How long silence must last to count as a drop: the node answers in well under a millisecond here.
    private static readonly TimeSpan Silence = TimeSpan.FromMilliseconds(300);

    /// <summary>Each hostile case and its outcome: the rcode answered, or null for dropped.</summary>
    public static readonly TheoryData<string, ReturnCode?> Cases = new()
    {
        { "empty datagram", null },
        { "5 bytes", null },
        { "a response (QR=1) sent as a query", null },
        { "header announcing a question it does not have", ReturnCode.FormatError },
        { "question cut inside its name", ReturnCode.FormatError },
        { "question without type and class", ReturnCode.FormatError },
        { "compression pointer to itself", ReturnCode.FormatError },
        { "label of the reserved type 0x40", ReturnCode.FormatError },
        { "name of 200 labels", ReturnCode.FormatError },
        { "name of 4,000 octets in the zone", ReturnCode.FormatError },
        { "65,535 questions announced in 17 bytes", ReturnCode.FormatError },
        { "65,507 bytes of junk after a header", ReturnCode.FormatError },
        { "query followed by 4,000 junk bytes", ReturnCode.NoError },
        { "no question (QDCOUNT 0)", ReturnCode.FormatError },
        { "two questions (QDCOUNT 2)", ReturnCode.FormatError },
        { "opcode IQUERY (1)", ReturnCode.NotImplemented },
        { "opcode STATUS (2)", ReturnCode.NotImplemented },
        { "opcode NOTIFY (4)", ReturnCode.NotImplemented },
        { "opcode UPDATE (5)", ReturnCode.NotImplemented },
        { "opcode 15", ReturnCode.NotImplemented },
        { "class CH", ReturnCode.Refused },
        { "class HS", ReturnCode.Refused },
        { "CLASS42", ReturnCode.Refused },
        { "class NONE", ReturnCode.Refused },
        { "AXFR over UDP", ReturnCode.Refused },
        { "type 65280 (private use)", ReturnCode.NoError },
        { "QTYPE ANY", ReturnCode.NoError },
        { "every header flag but QR set", ReturnCode.NoError },
        { "EDNS version 1", ReturnCode.BadVersion },
        { "two OPT records", ReturnCode.FormatError },
        { "OPT record cut short", ReturnCode.FormatError },
        { "EDNS payload size 0", ReturnCode.NoError },
        { "EDNS payload size 65,535", ReturnCode.NoError },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Udp_HostileQuery_AnsweredOrDroppedAndNodeStillAnswers(string query, ReturnCode? expected)
    {
        var source = ClientNetworks.Next();
        using var client = new RawUdpClient(source, node.Port);
        var datagram = Hostile(query);

        var response = await client.ExchangeAsync(datagram, expected is null ? Silence : Answered);

        if (expected is null)
        {
            Assert.Null(response);
        }
        else
        {
            Assert.NotNull(response);
            var message = DnsMessage.Parse(response);
            Assert.Equal(expected, message.ReturnCode);
            Assert.False(message.IsQuery);
            Assert.Equal(0x1234, message.TransactionID);
            Assert.InRange(response.Length, 12, 512);
            Assert.False(message.IsTruncated);
        }

        var dig = await Dig.QueryAsync(node.Port, "-b", ClientNetworks.Neighbour(source, 2).ToString(), "www.foobar.com", "A", "+short");
        Assert.Equal("127.0.0.100", dig.Trim());
    }

    [Fact]
    public async Task Udp_EveryHostileQueryTenTimesFromOneSource_OnlyLineIsTheRateLimitOnce()
    {
        var source = ClientNetworks.Next();
        using var client = new RawUdpClient(source, node.Port);
        var before = node.Logs.Messages.Count;

        // Ten rounds of every case, each in a burst the socket buffers hold.
        for (var round = 0; round < 10; round++)
        {
            foreach (var query in Cases.Select(c => (string)c[0]))
            {
                await client.SendAsync(Hostile(query));
            }

            while (await client.ReceiveAsync(TimeSpan.FromMilliseconds(200)) is not null)
            {
            }
        }

        // Debug included: no exception logged, and the hundreds of queries from one /24, far over its rate, make one line.
        Assert.Equal(
            [$"DNS dns rate limiting {ClientNetworks.Neighbour(source, 0)}/24 started: more than 20 responses per second over UDP"],
            node.Logs.Messages.Skip(before));
        Assert.Equal("127.0.0.100", (await Dig.QueryAsync(node.Port, "www.foobar.com", "A", "+short")).Trim());
    }

    [Theory]
    [InlineData(null, 512)]
    [InlineData((ushort)0, 512)]
    [InlineData((ushort)100, 512)]
    [InlineData((ushort)512, 512)]
    [InlineData((ushort)1232, 1232)]
    [InlineData((ushort)4096, 1232)]
    [InlineData((ushort)65535, 1232)]
    public async Task Udp_AnyPayloadSize_ResponseWithinWhatTheClientTakesAndOptSays1232(ushort? payloadSize, int limit)
    {
        using var client = new RawUdpClient(ClientNetworks.Next(), node.Port);

        // The largest answers of the zone: NS with glue, ANY, and NXDOMAIN with the SOA under a 202-octet name.
        foreach (var (name, type) in new[] { ("foobar.com", (ushort)RecordType.Ns), ("foobar.com", (ushort)RecordType.Any), ($"{new string('a', 63)}.{new string('b', 63)}.{new string('c', 63)}.foobar.com", TypeA) })
        {
            var response = await client.ExchangeAsync(Query(name, type, payloadSize: payloadSize), Answered);

            Assert.NotNull(response);
            Assert.InRange(response.Length, 12, limit);
            var message = DnsMessage.Parse(response);
            Assert.Equal(payloadSize is null ? null : (ushort?)1232, message.EDnsOptions?.UdpPayloadSize);
        }
    }

    [Theory]
    [InlineData("no question (QDCOUNT 0)", ReturnCode.FormatError)]
    [InlineData("opcode UPDATE (5)", ReturnCode.NotImplemented)]
    [InlineData("class CH", ReturnCode.Refused)]
    [InlineData("EDNS version 1", ReturnCode.BadVersion)]

    // Over TCP ARSoft answers every message it parses; a FORMERR is harmless there: a TCP peer's address is real.
    [InlineData("a response (QR=1) sent as a query", ReturnCode.FormatError)]

    // ARSoft reads the question of each frame as it arrives, and closes the connection when it cannot.
    [InlineData("compression pointer to itself", null)]
    public async Task Tcp_HostileQuery_AnsweredOrClosedAndNodeStillAnswers(string query, ReturnCode? expected)
    {
        var response = await ExchangeTcpAsync(node.Port, Hostile(query), Answered);

        Assert.Equal(expected, response is null ? null : DnsMessage.Parse(response).ReturnCode);
        Assert.Equal("127.0.0.100", (await Dig.QueryAsync(node.Port, "www.foobar.com", "A", "+short", "+tcp")).Trim());
    }

    [Fact]
    public async Task Tcp_FramePromisingMoreThanSent_NodeStillAnswers()
    {
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(IPAddress.Loopback, node.Port);
            await tcp.GetStream().WriteAsync((byte[])[0xFF, 0xFF, .. Query()]);
        }

        Assert.Equal("127.0.0.100", (await Dig.QueryAsync(node.Port, "www.foobar.com", "A", "+short", "+tcp")).Trim());
    }

    [Fact]
    public async Task Dig_Any_OneRRset()
    {
        var output = await Dig.QueryAsync(node.Port, "foobar.com", "ANY");

        Assert.Contains("status: NOERROR", output, StringComparison.Ordinal);
        Assert.Contains("ANSWER: 1,", output, StringComparison.Ordinal);
        Assert.Matches(@"foobar\.com\.\s+60\s+IN\s+A\s+127\.0\.0\.100", output);
    }

    [Fact]
    public async Task Dig_EdnsVersion1_BadVersWithVersion0()
    {
        var output = await Dig.QueryAsync(node.Port, "www.foobar.com", "A", "+edns=1", "+noednsnegotiation");

        Assert.Contains("status: BADVERS", output, StringComparison.Ordinal);
        Assert.Contains("EDNS: version: 0", output, StringComparison.Ordinal);
        Assert.Contains("udp: 1232", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("CH", "version.bind", "TXT")]
    [InlineData("HS", "www.foobar.com", "A")]
    [InlineData("CLASS42", "www.foobar.com", "A")]
    public async Task Dig_OtherClass_Refused(string recordClass, string name, string type)
    {
        var output = await Dig.QueryAsync(node.Port, "-c", recordClass, "-t", type, "-q", name);

        Assert.Contains("status: REFUSED", output, StringComparison.Ordinal);
        Assert.Matches($@";{Regex.Escape(name)}\.\s+{recordClass}\s+{type}\n", output);
    }

    [Fact]
    public async Task Dig_OpcodeStatus_NotImp()
    {
        var output = await Dig.QueryAsync(node.Port, "www.foobar.com", "A", "+opcode=status");

        Assert.Contains("opcode: STATUS, status: NOTIMP", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dig_HugeBufsize_OptAdvertises1232()
    {
        var output = await Dig.QueryAsync(node.Port, "www.foobar.com", "A", "+bufsize=65535");

        Assert.Contains("status: NOERROR", output, StringComparison.Ordinal);
        Assert.Contains("udp: 1232", output, StringComparison.Ordinal);
    }

    /// <summary>The datagram of each hostile case, id 0x1234 wherever a header has one.</summary>
    private static byte[] Hostile(string query) => query switch
    {
        "empty datagram" => [],
        "5 bytes" => [0x12, 0x34, 0x01, 0x00, 0x00],
        "a response (QR=1) sent as a query" => Query(flags: 0x8400),
        "header announcing a question it does not have" => Header(RecursionDesired, 1),
        "question cut inside its name" => [.. Header(RecursionDesired, 1), 3, (byte)'w', (byte)'w'],
        "question without type and class" => [.. Header(RecursionDesired, 1), .. Name("www.foobar.com")],
        "compression pointer to itself" => [.. Header(RecursionDesired, 1), 0xC0, 12, 0, 1, 0, 1],
        "label of the reserved type 0x40" => [.. Header(RecursionDesired, 1), 0x42, 0, 0, 1, 0, 1],
        "name of 200 labels" => [.. Header(RecursionDesired, 1), .. Question(string.Join('.', Enumerable.Repeat("a", 200)))],
        "name of 4,000 octets in the zone" => Query($"{string.Join('.', Enumerable.Repeat(new string('a', 63), 63))}.foobar.com"),
        "65,535 questions announced in 17 bytes" => [.. Header(RecursionDesired, 65_535), 0, 0, 1, 0, 1],
        "65,507 bytes of junk after a header" => [.. Header(RecursionDesired, 1, 100, 100, 100), .. Enumerable.Repeat((byte)0xFF, 65_507 - 12)],
        "query followed by 4,000 junk bytes" => [.. Query(), .. Enumerable.Repeat((byte)0xFF, 4_000)],
        "no question (QDCOUNT 0)" => Header(RecursionDesired, 0),
        "two questions (QDCOUNT 2)" => [.. Header(RecursionDesired, 2), .. Question("www.foobar.com"), .. Question("foobar.com")],
        "opcode IQUERY (1)" => Query(flags: 1 << 11),
        "opcode STATUS (2)" => Query(flags: 2 << 11),
        "opcode NOTIFY (4)" => Query(flags: 4 << 11),
        "opcode UPDATE (5)" => [.. Header(5 << 11, 1), .. Question("foobar.com", (ushort)RecordType.Soa)],
        "opcode 15" => Query(flags: 15 << 11),
        "class CH" => Query("version.bind", (ushort)RecordType.Txt, 3),
        "class HS" => Query(recordClass: 4),
        "CLASS42" => Query(recordClass: 42),
        "class NONE" => Query(recordClass: 254),
        "AXFR over UDP" => Query("foobar.com", (ushort)RecordType.Axfr),
        "type 65280 (private use)" => Query(type: 65_280),
        "QTYPE ANY" => Query(type: (ushort)RecordType.Any),
        "every header flag but QR set" => Query(flags: 0x07F0),
        "EDNS version 1" => [.. Header(RecursionDesired, 1, additional: 1), .. Question("www.foobar.com"), .. Opt(version: 1)],
        "two OPT records" => [.. Header(RecursionDesired, 1, additional: 2), .. Question("www.foobar.com"), .. Opt(), .. Opt()],
        "OPT record cut short" => [.. Header(RecursionDesired, 1, additional: 1), .. Question("www.foobar.com"), 0, 0, 41, 0x04],
        "EDNS payload size 0" => Query(payloadSize: 0),
        "EDNS payload size 65,535" => Query(payloadSize: 65_535),
        _ => throw new ArgumentOutOfRangeException(nameof(query), query, null),
    };
}
