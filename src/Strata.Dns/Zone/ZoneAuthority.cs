using System.Net;
using ARSoft.Tools.Net;
using ARSoft.Tools.Net.Dns;
using Strata.Topology;

namespace Strata.Dns.Zone;

/// <summary>
/// Answers queries for one zone as its only authoritative server (RFC 1034 §4.3.2, RFC 2308 for the
/// negative answers). Pure: no sockets, no clock, so every answer can be tested from a <see cref="DnsMessage"/>.
/// </summary>
/// <remarks>
/// The zone is flat: A records from the topology, plus the SOA and NS at the apex and the name server's own
/// A record. There are no delegations, CNAMEs or wildcards, so the lookup of RFC 1034 §4.3.2 reduces to
/// "is the name in the zone, does it exist, does it have the type".
/// </remarks>
internal sealed class ZoneAuthority
{
    /// <summary>The SOA serial. Nothing compares it: there are no secondaries and no zone transfers.</summary>
    public const uint Serial = 1;

    /// <summary>SOA timers in seconds; they only matter to secondaries, so the usual RFC 1912 values.</summary>
    public const int Refresh = 3600;

    /// <inheritdoc cref="Refresh"/>
    public const int Retry = 600;

    /// <inheritdoc cref="Refresh"/>
    public const int Expire = 86400;

    /// <summary>
    /// The UDP payload size this server advertises in its OPT record, and so the most it sends over UDP: 1232 bytes,
    /// which fits the IPv6 minimum MTU without fragmentation (DNS Flag Day 2020, BIND's default <c>edns-udp-size</c>).
    /// </summary>
    public const ushort EdnsPayloadSize = 1232;

    private readonly int _ttl;
    private readonly SoaRecord _soa;
    private readonly NsRecord _ns;

    // DomainName's own Equals and GetHashCode ignore case (its == operator does not: it compares references).
    private readonly Dictionary<DomainName, IPAddress> _addresses = [];
    private readonly HashSet<DomainName> _existingNames = [];

    /// <summary>Builds the zone's records.</summary>
    /// <param name="zone">The validated zone.</param>
    /// <param name="nameServerAddress">The DNS node's own address: the A record of ns1.&lt;zone&gt;, unless the zone defines it.</param>
    public ZoneAuthority(DnsZoneSpec zone, IPAddress nameServerAddress)
    {
        ArgumentNullException.ThrowIfNull(zone);
        ArgumentNullException.ThrowIfNull(nameServerAddress);

        Apex = DomainName.Parse(zone.Zone);
        NameServer = DomainName.Parse($"ns1.{zone.Zone}");
        _ttl = (int)zone.Ttl.TotalSeconds;

        // RFC 2308 §4: the negative-caching TTL is the SOA's minimum, here the zone TTL like every record.
        _soa = new SoaRecord(Apex, _ttl, NameServer, DomainName.Parse($"hostmaster.{zone.Zone}"), Serial, Refresh, Retry, Expire, _ttl);
        _ns = new NsRecord(Apex, _ttl, NameServer);

        foreach (var (name, address) in zone.Records)
        {
            var owner = DomainName.Parse(name);
            if (owner.IsEqualOrSubDomainOf(Apex))
            {
                _addresses[owner] = address;
            }
        }

        // A node bound to 0.0.0.0 has no single address to publish; ns1 then has no A record rather than a wrong one.
        if (!_addresses.ContainsKey(NameServer) && !nameServerAddress.Equals(IPAddress.Any))
        {
            _addresses[NameServer] = nameServerAddress;
        }

        // Every owner and every name between it and the apex exists: a name with nothing below it but
        // names (an empty non-terminal) answers NODATA, not NXDOMAIN (RFC 8020).
        _existingNames.Add(Apex);
        foreach (var owner in _addresses.Keys)
        {
            for (var name = owner; !name.Equals(Apex); name = name.GetParentName())
            {
                _existingNames.Add(name);
            }
        }
    }

    /// <summary>The zone's apex.</summary>
    public DomainName Apex { get; }

    /// <summary>The zone's only name server, ns1.&lt;zone&gt;.</summary>
    public DomainName NameServer { get; }

    /// <summary>The response to <paramref name="query"/>: same id and question, AA set when the answer is ours.</summary>
    public DnsMessage Answer(DnsMessage query)
    {
        ArgumentNullException.ThrowIfNull(query);

        // Copies the id, the question, RD, CD and DO, and adds an OPT record when the query had one.
        var response = query.CreateResponseInstance();
        if (response.EDnsOptions is { } opt)
        {
            // Ours, not the client's: the version we speak (RFC 6891 §6.1.3) and the size we take.
            opt.Version = 0;
            opt.UdpPayloadSize = EdnsPayloadSize;
        }

        // RFC 6891 §6.1.1: more than one OPT record is a format error. A response sent as a query is no question either
        // (the UDP listener drops those unanswered, so two servers cannot bounce answers forever).
        if (query.AdditionalRecords.Count(r => r is OptRecord) > 1 || !query.IsQuery)
        {
            return Error(response, ReturnCode.FormatError);
        }

        // RFC 6891 §6.1.3: only version 0 exists; BADVERS tells the client to fall back to it.
        if (query.EDnsOptions is { Version: > 0 })
        {
            return Error(response, ReturnCode.BadVersion);
        }

        if (query.OperationCode != OperationCode.Query)
        {
            return Error(response, ReturnCode.NotImplemented);
        }

        if (!HasOneQuestion(query))
        {
            return Error(response, ReturnCode.FormatError);
        }

        var question = query.Questions[0];

        // Not ours to answer: another class, a name outside the zone, or a zone transfer (we offer none).
        if (question.RecordClass is not (RecordClass.INet or RecordClass.Any)
            || !question.Name.IsEqualOrSubDomainOf(Apex)
            || question.RecordType is RecordType.Axfr or RecordType.Ixfr)
        {
            return Error(response, ReturnCode.Refused);
        }

        response.IsAuthoritiveAnswer = true;

        if (!_existingNames.Contains(question.Name))
        {
            response.ReturnCode = ReturnCode.NxDomain;
            response.AuthorityRecords.Add(_soa);
            return response;
        }

        AddAnswers(response, question);

        if (response.AnswerRecords.Count == 0)
        {
            // NODATA (RFC 2308 §2.2): NOERROR, empty answer, the SOA for negative caching.
            response.AuthorityRecords.Add(_soa);
        }

        return response;
    }

    /// <summary>An answer that is only an rcode: no records, and the question only when there was one good one.</summary>
    private static DnsMessage Error(DnsMessage response, ReturnCode code)
    {
        response.ReturnCode = code;
        if (!HasOneQuestion(response))
        {
            response.Questions.Clear();
        }

        return response;
    }

    /// <summary>
    /// RFC 9619: a query carries exactly one question. RFC 1035 §2.3.4: its name is 255 octets at most, which ARSoft
    /// does not check (it reads up to 127 labels): a longer one is not echoed back.
    /// </summary>
    private static bool HasOneQuestion(DnsMessage message) =>
        message.Questions is [var question] && question.Name.Labels.Sum(label => label.Length + 1) + 1 <= 255;

    private void AddAnswers(DnsMessage response, DnsQuestion question)
    {
        var type = question.RecordType;
        var isApex = question.Name.Equals(Apex);
        _addresses.TryGetValue(question.Name, out var address);

        // RFC 8482 §4.1: ANY gets one RRset, not everything (BIND's minimal-any): the name's A, else the apex's SOA.
        if (type == RecordType.Any)
        {
            type = address is not null ? RecordType.A : isApex ? RecordType.Soa : RecordType.Any;
        }

        // Answers carry the name as asked, so a mixed-case (0x20) query gets back the case it sent.
        if (type == RecordType.A && address is not null)
        {
            response.AnswerRecords.Add(new ARecord(question.Name, _ttl, address));
        }

        if (isApex && type == RecordType.Soa)
        {
            response.AnswerRecords.Add(_soa);
        }

        if (isApex && type == RecordType.Ns)
        {
            response.AnswerRecords.Add(_ns);

            // Glue: the resolver asking for the name server also needs its address.
            if (_addresses.TryGetValue(NameServer, out var nameServerAddress))
            {
                response.AdditionalRecords.Add(new ARecord(NameServer, _ttl, nameServerAddress));
            }
        }
    }
}
