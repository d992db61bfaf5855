using System.Text.Json.Nodes;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.Topology;

/// <summary><c>web.securityHeaders</c>: the headers every answer of a web node carries (docs/security.md).</summary>
public sealed class SecurityHeadersValidationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("strata-securityheaders-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Load_None_TheStrictDefaults()
    {
        var topology = TopologyLoader.Load(Write(null));

        Assert.Equal<(string, string)>(
            [
                ("Content-Security-Policy", "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"),
                ("Referrer-Policy", "strict-origin-when-cross-origin"),
                ("X-Frame-Options", "DENY"),
                ("X-Content-Type-Options", "nosniff"),
            ],
            topology.Web.SecurityHeaders);
    }

    [Fact]
    public void Load_ValueChangedOrEmpty_ChangedOrLeftOut_OthersDefault()
    {
        var topology = TopologyLoader.Load(Write(new JsonObject { ["contentSecurityPolicy"] = "default-src 'self' https://cdn.example", ["frameOptions"] = "" }));

        Assert.Equal<(string, string)>(
            [
                ("Content-Security-Policy", "default-src 'self' https://cdn.example"),
                ("Referrer-Policy", "strict-origin-when-cross-origin"),
                ("X-Content-Type-Options", "nosniff"),
            ],
            topology.Web.SecurityHeaders);
    }

    [Theory]
    [InlineData("contentSecurityPolicy", "default-src 'self'\r\nX-Evil: 1", "'default-src 'self'\r\nX-Evil: 1' must be a policy in printable ASCII; \"\" leaves the header out")]
    [InlineData("referrerPolicy", "never", "'never' must be one of no-referrer, no-referrer-when-downgrade, same-origin, origin, strict-origin, origin-when-cross-origin, strict-origin-when-cross-origin, unsafe-url (or a comma-separated list of them); \"\" leaves the header out")]
    [InlineData("frameOptions", "ALLOW-FROM https://a.example", "'ALLOW-FROM https://a.example' must be DENY or SAMEORIGIN (ALLOW-FROM is obsolete: use frame-ancestors in the policy); \"\" leaves the header out")]
    [InlineData("contentTypeOptions", "sniff", "'sniff' must be nosniff; \"\" leaves the header out")]
    public void Load_BadValue_NamesTheField(string field, string value, string problem)
    {
        var path = Write(new JsonObject { [field] = value });

        var error = Assert.Single(Assert.Throws<TopologyException>(() => TopologyLoader.Load(path)).Errors);
        Assert.Equal(($"web.securityHeaders.{field}", problem), (error.Field, error.Problem));
    }

    [Fact]
    public void Load_UnknownField_Named()
    {
        var path = Write(new JsonObject { ["strictTransportSecurity"] = "max-age=1" });

        var error = Assert.Single(Assert.Throws<TopologyException>(() => TopologyLoader.Load(path)).Errors);
        Assert.Equal(("web.securityHeaders.strictTransportSecurity", "unknown field"), (error.Field, error.Problem));
    }

    private string Write(JsonObject? securityHeaders)
    {
        var root = TestTopology.DefaultJson();
        if (securityHeaders is not null)
        {
            root["web"]!["securityHeaders"] = securityHeaders;
        }

        return TestTopology.Write(root, _dir);
    }
}
