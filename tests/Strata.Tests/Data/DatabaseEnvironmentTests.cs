using Strata.Data;
using Strata.Topology;

namespace Strata.Tests.Data;

/// <summary>DATABASE_URL and STRATA_DATABASE, as the user's own application receives them.</summary>
public sealed class DatabaseEnvironmentTests
{
    [Fact]
    public void For_Sqlite_IsAnAbsoluteSqliteUrlAndThePath()
    {
        var (url, plain) = DatabaseEnvironment.For(new DatabaseSpec("sqlite", "/srv/site/.strata/foobar.db"));

        Assert.Equal("sqlite:////srv/site/.strata/foobar.db", url);
        Assert.Equal("/srv/site/.strata/foobar.db", plain);
    }

    [Fact]
    public void For_Mysql_EscapesTheCredentialsInTheUrl_AndPassesTheConnectionString()
    {
        var database = new DatabaseSpec("mysql", "", "Server=db.internal;Port=3307;Database=foo bar;User ID=app@web;Password=p@ss:w/rd");

        var (url, plain) = DatabaseEnvironment.For(database);

        Assert.Equal("mysql://app%40web:p%40ss%3Aw%2Frd@db.internal:3307/foo%20bar", url);
        Assert.Equal(database.ConnectionString, plain);
        Assert.True(Uri.TryCreate(url, UriKind.Absolute, out var parsed));
        Assert.Equal(("db.internal", 3307), (parsed.Host, parsed.Port));
    }
}
