using Microsoft.Extensions.Time.Testing;
using Strata.Hosting.Leases;

namespace Strata.Tests.Hosting.Leases;

/// <summary>One voter's rule on the database primary's lease: one holder at a time, until its grant runs out here; never another after a holder that wrote alone.</summary>
public sealed class LeaseVoterTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void Held_AnotherIsRefusedUntilTheGrantRunsOut_ThenGranted()
    {
        var voter = new LeaseVoter(_time);
        Assert.True(voter.Ask(new LeaseRequest("db-1", LeaseVoter.Strict, 3000)).Granted);

        _time.Advance(TimeSpan.FromMilliseconds(2900));
        var refused = voter.Ask(new LeaseRequest("db-2", LeaseVoter.Strict, 3000));
        Assert.False(refused.Granted);
        Assert.Equal("db-1", refused.Holder);
        Assert.InRange(refused.RemainingMs, 1, 100);

        _time.Advance(TimeSpan.FromMilliseconds(101));
        var granted = voter.Ask(new LeaseRequest("db-2", LeaseVoter.Strict, 3000));
        Assert.True(granted.Granted);
        Assert.Equal("db-2", granted.Holder);
    }

    [Fact]
    public void Renewed_TheHolderKeepsIt()
    {
        var voter = new LeaseVoter(_time);
        for (var i = 0; i < 10; i++)
        {
            Assert.True(voter.Ask(new LeaseRequest("db-1", LeaseVoter.Strict, 3000)).Granted);
            _time.Advance(TimeSpan.FromMilliseconds(500));
            Assert.False(voter.Ask(new LeaseRequest("db-2", LeaseVoter.Strict, 3000)).Granted);
        }
    }

    [Fact]
    public void HolderWroteAlone_NoOtherNodeGetsItEvenAfterItRanOut_TheHolderDoes()
    {
        var voter = new LeaseVoter(_time);
        Assert.True(voter.Ask(new LeaseRequest("db-1", LeaseVoter.Alone, 3000)).Granted);
        _time.Advance(TimeSpan.FromMinutes(5));

        var refused = voter.Ask(new LeaseRequest("db-2", LeaseVoter.Strict, 3000));
        Assert.False(refused.Granted);
        Assert.Contains("wrote without a replica", refused.Reason, StringComparison.Ordinal);
        Assert.True(voter.Ask(new LeaseRequest("db-1", LeaseVoter.Strict, 3000)).Granted);
    }

    [Fact]
    public void StrictAgain_AnotherGetsItOnceItRanOut()
    {
        var voter = new LeaseVoter(_time);
        voter.Ask(new LeaseRequest("db-1", LeaseVoter.Alone, 3000));
        voter.Ask(new LeaseRequest("db-1", LeaseVoter.Strict, 3000));
        _time.Advance(TimeSpan.FromSeconds(4));

        Assert.True(voter.Ask(new LeaseRequest("db-2", LeaseVoter.Alone, 3000)).Granted);
    }

    [Fact]
    public void HolderWroteAlone_AsACandidateAgainOrGivingItsGrantBack_TheMarkStays()
    {
        var voter = new LeaseVoter(_time);
        voter.Ask(new LeaseRequest("db-1", LeaseVoter.Alone, 3000));
        _time.Advance(TimeSpan.FromSeconds(4));

        // Restarted, db-1 asks as a candidate, gets only a minority elsewhere and gives its grant back.
        Assert.True(voter.Ask(new LeaseRequest("db-1", LeaseVoter.Candidate, 3000)).Granted);
        voter.Ask(new LeaseRequest("db-1", LeaseVoter.Candidate, 3000, Release: true));
        _time.Advance(TimeSpan.FromSeconds(4));

        Assert.Contains("wrote without a replica", voter.Ask(new LeaseRequest("db-2", LeaseVoter.Candidate, 3000)).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void StartedKnowingItsNodeWroteAlone_RefusesAnyOther()
    {
        var voter = new LeaseVoter(_time, writtenAlone: "db-1");

        Assert.False(voter.Ask(new LeaseRequest("db-2", LeaseVoter.Candidate, 3000)).Granted);
        Assert.True(voter.Ask(new LeaseRequest("db-1", LeaseVoter.Candidate, 3000)).Granted);
    }

    [Fact]
    public void CandidateRefusedElsewhere_GivesItsGrantBack_TheNextCandidateIsGrantedAtOnce()
    {
        var voter = new LeaseVoter(_time);
        Assert.True(voter.Ask(new LeaseRequest("db-2", LeaseVoter.Candidate, 3000)).Granted);
        voter.Ask(new LeaseRequest("db-2", LeaseVoter.Candidate, 3000, Release: true));

        Assert.True(voter.Ask(new LeaseRequest("db-1", LeaseVoter.Candidate, 3000)).Granted);
    }

    [Fact]
    public void Released_AnotherGetsItAtOnce_ButOnlyTheHolderCanRelease()
    {
        var voter = new LeaseVoter(_time);
        voter.Ask(new LeaseRequest("db-1", LeaseVoter.Strict, 3000));

        voter.Ask(new LeaseRequest("db-2", LeaseVoter.Strict, 3000, Release: true));
        Assert.False(voter.Ask(new LeaseRequest("db-2", LeaseVoter.Strict, 3000)).Granted);

        voter.Ask(new LeaseRequest("db-1", LeaseVoter.Strict, 3000, Release: true));
        Assert.True(voter.Ask(new LeaseRequest("db-2", LeaseVoter.Strict, 3000)).Granted);
    }
}
