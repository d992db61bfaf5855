using ARSoft.Tools.Net.Dns;
using Prometheus;
using Strata.Dns.RateLimiting;
using Strata.Hosting.Metrics;

namespace Strata.Dns.Server;

/// <summary>
/// The DNS node's queries in its /metrics: <c>strata_dns_queries_total{transport="udp"|"tcp",type,rcode}</c> for every
/// query answered, by the question's type (A, AAAA, SOA..., "other" for the rarer ones, "none" when there was no
/// question) and the answer's response code (NOERROR, NXDOMAIN, REFUSED...), and
/// <c>strata_dns_responses_limited_total{action="drop"|"slip"}</c> for the UDP responses the rate limit held back.
/// </summary>
/// <remarks>Every series is resolved once here (and published at its first query): counting a query is a few array reads and an interlocked add.</remarks>
internal sealed class DnsMetrics
{
    private static readonly RecordType[] Types =
        [RecordType.A, RecordType.Aaaa, RecordType.Ns, RecordType.Soa, RecordType.CName, RecordType.Mx, RecordType.Txt, RecordType.Ptr, RecordType.Srv, RecordType.CAA, RecordType.Any];

    private static readonly ReturnCode[] Codes =
        [ReturnCode.NoError, ReturnCode.FormatError, ReturnCode.ServerFailure, ReturnCode.NxDomain, ReturnCode.NotImplemented, ReturnCode.Refused, ReturnCode.BadVersion];

    private const int OtherType = 11;
    private const int NoQuestion = 12;
    private const int OtherCode = 7;

    // [transport][type][rcode]: Types, then "other" and "none"; Codes, then "other".
    private readonly Counter.Child[][][] _queries;
    private readonly Counter.Child _dropped;
    private readonly Counter.Child _slipped;

    public DnsMetrics(NodeMetrics metrics)
    {
        var quiet = new CounterConfiguration { SuppressInitialValue = true };
        var queries = metrics.Factory.CreateCounter(
            "strata_dns_queries_total", "Queries answered, by transport, question type and response code.", ["transport", "type", "rcode"], quiet);
        string[] types = [.. Types.Select(Mnemonic), "other", "none"];
        string[] codes = [.. Codes.Select(Mnemonic), "other"];
        _queries = [.. new[] { "udp", "tcp" }.Select(transport => types.Select(type => codes.Select(code => queries.WithLabels(transport, type, code)).ToArray()).ToArray())];
        var limited = metrics.Factory.CreateCounter(
            "strata_dns_responses_limited_total", "UDP responses held back by the rate limit: dropped, or sent truncated (slip).", "action");
        _dropped = limited.WithLabels("drop");
        _slipped = limited.WithLabels("slip");
    }

    /// <summary>A response to <paramref name="query"/> (null: a datagram that could not be parsed) is going out.</summary>
    public void Answered(bool tcp, DnsMessage? query, ReturnCode code)
    {
        var type = query?.Questions is [var question, ..] ? Array.IndexOf(Types, question.RecordType) is var i and >= 0 ? i : OtherType : NoQuestion;
        var rcode = Array.IndexOf(Codes, code) is var c and >= 0 ? c : OtherCode;
        _queries[tcp ? 1 : 0][type][rcode].Inc();
    }

    /// <summary>A UDP response the rate limit dropped or truncated.</summary>
    public void Limited(RateLimitVerdict verdict) => (verdict == RateLimitVerdict.Drop ? _dropped : _slipped).Inc();

    private static string Mnemonic(RecordType type) => type == RecordType.CName ? "CNAME" : type.ToString().ToUpperInvariant();

    private static string Mnemonic(ReturnCode code) => code switch
    {
        ReturnCode.NoError => "NOERROR",
        ReturnCode.FormatError => "FORMERR",
        ReturnCode.ServerFailure => "SERVFAIL",
        ReturnCode.NxDomain => "NXDOMAIN",
        ReturnCode.NotImplemented => "NOTIMP",
        ReturnCode.Refused => "REFUSED",
        _ => "BADVERS",
    };
}
