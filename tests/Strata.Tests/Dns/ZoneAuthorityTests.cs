using System.Net;
using ARSoft.Tools.Net;
using ARSoft.Tools.Net.Dns;
using Strata.Dns.Zone;

namespace Strata.Tests.Dns;

public class ZoneAuthorityTests
{
    private static readonly IPAddress NameServerAddress = IPAddress.Parse("127.0.0.1");

    private readonly ZoneAuthority _authority = new(DnsTestTopology.ZoneSpec(), NameServerAddress);

    [Fact]
    public void Answer_AForWww_ReturnsVipAuthoritatively()
    {
        var response = _authority.Answer(Query("www.foobar.com", RecordType.A));

        Assert.Equal(ReturnCode.NoError, response.ReturnCode);
        Assert.True(response.IsAuthoritiveAnswer);
        Assert.False(response.IsQuery);
        var record = Assert.IsType<ARecord>(Assert.Single(response.AnswerRecords));
        Assert.Equal(DomainName.Parse("www.foobar.com"), record.Name);
        Assert.Equal(DnsTestTopology.VipAddress, record.Address);
        Assert.Equal(60, record.TimeToLive);
        Assert.Empty(response.AuthorityRecords);
    }

    [Fact]
    public void Answer_AForApex_ReturnsVip()
    {
        var response = _authority.Answer(Query("foobar.com", RecordType.A));

        Assert.Equal(ReturnCode.NoError, response.ReturnCode);
        Assert.True(response.IsAuthoritiveAnswer);
        var record = Assert.IsType<ARecord>(Assert.Single(response.AnswerRecords));
        Assert.Equal(DnsTestTopology.VipAddress, record.Address);
    }

    [Fact]
    public void Answer_AnyQuery_CopiesIdQuestionAndRecursionDesired()
    {
        var query = Query("www.foobar.com", RecordType.A);

        var response = _authority.Answer(query);

        Assert.Equal(query.TransactionID, response.TransactionID);
        Assert.Equal(query.Questions, response.Questions);
        Assert.True(response.IsRecursionDesired);
        Assert.False(response.IsRecursionAllowed);
    }

    [Fact]
    public void Answer_SoaForApex_ReturnsSoaWithZoneTimers()
    {
        var response = _authority.Answer(Query("foobar.com", RecordType.Soa));

        Assert.Equal(ReturnCode.NoError, response.ReturnCode);
        Assert.True(response.IsAuthoritiveAnswer);
        var soa = Assert.IsType<SoaRecord>(Assert.Single(response.AnswerRecords));
        Assert.Equal(DomainName.Parse("foobar.com"), soa.Name);
        Assert.Equal(DomainName.Parse("ns1.foobar.com"), soa.MasterName);
        Assert.Equal(DomainName.Parse("hostmaster.foobar.com"), soa.ResponsibleName);
        Assert.Equal(ZoneAuthority.Serial, soa.SerialNumber);
        Assert.Equal(3600, soa.RefreshInterval);
        Assert.Equal(600, soa.RetryInterval);
        Assert.Equal(86400, soa.ExpireInterval);
        Assert.Equal(60, soa.NegativeCachingTTL);
        Assert.Equal(60, soa.TimeToLive);
    }

    [Fact]
    public void Answer_NsForApex_ReturnsNs1WithGlue()
    {
        var response = _authority.Answer(Query("foobar.com", RecordType.Ns));

        Assert.Equal(ReturnCode.NoError, response.ReturnCode);
        Assert.True(response.IsAuthoritiveAnswer);
        var ns = Assert.IsType<NsRecord>(Assert.Single(response.AnswerRecords));
        Assert.Equal(DomainName.Parse("ns1.foobar.com"), ns.NameServer);
        var glue = Assert.IsType<ARecord>(Assert.Single(response.AdditionalRecords));
        Assert.Equal(DomainName.Parse("ns1.foobar.com"), glue.Name);
        Assert.Equal(NameServerAddress, glue.Address);
    }

    [Fact]
    public void Answer_NsWhenRecordsDefineNs1_GlueUsesRecord()
    {
        var ns1 = IPAddress.Parse("192.0.2.53");
        var authority = new ZoneAuthority(
            DnsTestTopology.ZoneSpec(new Dictionary<string, IPAddress> { ["ns1.foobar.com"] = ns1 }),
            NameServerAddress);

        var response = authority.Answer(Query("foobar.com", RecordType.Ns));

        var glue = Assert.IsType<ARecord>(Assert.Single(response.AdditionalRecords));
        Assert.Equal(ns1, glue.Address);
    }

    [Fact]
    public void Answer_AForNs1_ReturnsDnsNodeAddress()
    {
        var response = _authority.Answer(Query("ns1.foobar.com", RecordType.A));

        Assert.Equal(ReturnCode.NoError, response.ReturnCode);
        var record = Assert.IsType<ARecord>(Assert.Single(response.AnswerRecords));
        Assert.Equal(NameServerAddress, record.Address);
    }

    [Fact]
    public void Answer_UnknownNameInZone_NxDomainWithSoaInAuthority()
    {
        var response = _authority.Answer(Query("nope.foobar.com", RecordType.A));

        Assert.Equal(ReturnCode.NxDomain, response.ReturnCode);
        Assert.True(response.IsAuthoritiveAnswer);
        Assert.Empty(response.AnswerRecords);
        var soa = Assert.IsType<SoaRecord>(Assert.Single(response.AuthorityRecords));
        Assert.Equal(DomainName.Parse("foobar.com"), soa.Name);
    }

    [Fact]
    public void Answer_NameBelowExistingName_NxDomain()
    {
        var response = _authority.Answer(Query("a.www.foobar.com", RecordType.A));

        Assert.Equal(ReturnCode.NxDomain, response.ReturnCode);
    }

    [Fact]
    public void Answer_OtherTypeForExistingName_NoDataWithSoaInAuthority()
    {
        var response = _authority.Answer(Query("www.foobar.com", RecordType.Aaaa));

        Assert.Equal(ReturnCode.NoError, response.ReturnCode);
        Assert.True(response.IsAuthoritiveAnswer);
        Assert.Empty(response.AnswerRecords);
        Assert.IsType<SoaRecord>(Assert.Single(response.AuthorityRecords));
    }

    [Fact]
    public void Answer_EmptyNonTerminal_NoData()
    {
        var authority = new ZoneAuthority(
            DnsTestTopology.ZoneSpec(new Dictionary<string, IPAddress> { ["a.b.foobar.com"] = IPAddress.Parse("192.0.2.1") }),
            NameServerAddress);

        var response = authority.Answer(Query("b.foobar.com", RecordType.A));

        Assert.Equal(ReturnCode.NoError, response.ReturnCode);
        Assert.Empty(response.AnswerRecords);
        Assert.IsType<SoaRecord>(Assert.Single(response.AuthorityRecords));
    }

    [Theory]
    [InlineData("example.org")]
    [InlineData("notfoobar.com")]
    [InlineData("com")]
    public void Answer_NameOutsideZone_RefusedWithoutAuthority(string name)
    {
        var response = _authority.Answer(Query(name, RecordType.A));

        Assert.Equal(ReturnCode.Refused, response.ReturnCode);
        Assert.False(response.IsAuthoritiveAnswer);
        Assert.Empty(response.AnswerRecords);
        Assert.Empty(response.AuthorityRecords);
    }

    [Fact]
    public void Answer_MixedCaseName_AnswersWithTheCaseAsked()
    {
        var response = _authority.Answer(Query("WwW.FooBar.CoM", RecordType.A));

        Assert.Equal(ReturnCode.NoError, response.ReturnCode);
        Assert.True(response.IsAuthoritiveAnswer);
        var record = Assert.IsType<ARecord>(Assert.Single(response.AnswerRecords));
        Assert.Equal("WwW.FooBar.CoM.", record.Name.ToString());
        Assert.Equal(DnsTestTopology.VipAddress, record.Address);
        Assert.Equal("WwW.FooBar.CoM.", response.Questions[0].Name.ToString());
    }

    [Theory]
    [InlineData("foobar.com", RecordType.A)]
    [InlineData("www.foobar.com", RecordType.A)]
    public void Answer_Any_OneRRsetOnly(string name, RecordType answered)
    {
        var response = _authority.Answer(Query(name, RecordType.Any));

        Assert.Equal(ReturnCode.NoError, response.ReturnCode);
        Assert.Equal(answered, Assert.Single(response.AnswerRecords).RecordType);
        Assert.Empty(response.AdditionalRecords);
    }

    [Fact]
    public void Answer_AnyForApexWithoutAddress_Soa()
    {
        var authority = new ZoneAuthority(
            DnsTestTopology.ZoneSpec(new Dictionary<string, IPAddress> { ["www.foobar.com"] = DnsTestTopology.VipAddress }),
            NameServerAddress);

        var response = authority.Answer(Query("foobar.com", RecordType.Any));

        Assert.IsType<SoaRecord>(Assert.Single(response.AnswerRecords));
    }

    [Fact]
    public void Answer_EdnsQuery_OptIsOursVersion0And1232()
    {
        var query = Query("www.foobar.com", RecordType.A);
        query.EDnsOptions = new OptRecord(4096);

        var response = _authority.Answer(query);

        Assert.Equal(ReturnCode.NoError, response.ReturnCode);
        Assert.Equal(0, response.EDnsOptions!.Version);
        Assert.Equal(1232, response.EDnsOptions.UdpPayloadSize);
    }

    [Fact]
    public void Answer_EdnsVersion1_BadVersWithVersion0AndNoAnswer()
    {
        var query = Query("www.foobar.com", RecordType.A);
        query.EDnsOptions = new OptRecord { Version = 1 };

        var response = _authority.Answer(query);

        Assert.Equal(ReturnCode.BadVersion, response.ReturnCode);
        Assert.Equal(0, response.EDnsOptions!.Version);
        Assert.Empty(response.AnswerRecords);
    }

    [Fact]
    public void Answer_TwoOptRecords_FormatError()
    {
        var query = Query("www.foobar.com", RecordType.A);
        query.AdditionalRecords.Add(new OptRecord());
        query.AdditionalRecords.Add(new OptRecord());

        var response = _authority.Answer(query);

        Assert.Equal(ReturnCode.FormatError, response.ReturnCode);
        Assert.Empty(response.AnswerRecords);
    }

    [Fact]
    public void Answer_ResponseSentAsQuery_FormatError()
    {
        var query = Query("www.foobar.com", RecordType.A);
        query.IsQuery = false;

        Assert.Equal(ReturnCode.FormatError, _authority.Answer(query).ReturnCode);
    }

    [Fact]
    public void Answer_TwoQuestions_FormatErrorWithoutThem()
    {
        var query = Query("www.foobar.com", RecordType.A);
        query.Questions.Add(new DnsQuestion(DomainName.Parse("foobar.com"), RecordType.A, RecordClass.INet));

        var response = _authority.Answer(query);

        Assert.Equal(ReturnCode.FormatError, response.ReturnCode);
        Assert.Empty(response.Questions);
    }

    [Fact]
    public void Answer_ZoneTransfer_Refused()
    {
        var response = _authority.Answer(Query("foobar.com", RecordType.Axfr));

        Assert.Equal(ReturnCode.Refused, response.ReturnCode);
    }

    [Fact]
    public void Answer_ChaosClass_Refused()
    {
        var query = new DnsMessage { TransactionID = 7 };
        query.Questions.Add(new DnsQuestion(DomainName.Parse("version.bind"), RecordType.Txt, RecordClass.Chaos));

        var response = _authority.Answer(query);

        Assert.Equal(ReturnCode.Refused, response.ReturnCode);
    }

    [Fact]
    public void Answer_NoQuestion_FormatError()
    {
        var response = _authority.Answer(new DnsMessage { TransactionID = 7 });

        Assert.Equal(ReturnCode.FormatError, response.ReturnCode);
    }

    private static DnsMessage Query(string name, RecordType type)
    {
        var query = new DnsMessage { TransactionID = 4242, IsRecursionDesired = true };
        query.Questions.Add(new DnsQuestion(DomainName.Parse(name), type, RecordClass.INet));
        return query;
    }
}
