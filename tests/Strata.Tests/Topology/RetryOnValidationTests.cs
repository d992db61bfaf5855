using System.Text.Json.Nodes;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.Topology;

/// <summary><c>retries.on</c>: the failures a backend retries on another server (HAProxy's <c>retry-on</c>).</summary>
public sealed class RetryOnValidationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("strata-retryon-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Load_NoOn_RetriesConnectionFailuresEmptyResponsesAndTimeoutsNot503()
    {
        var topology = TopologyLoader.Load(Write("web", retries => retries.Remove("on")));

        Assert.Equal(RetryConditions.ConnectionFailure | RetryConditions.EmptyResponse | RetryConditions.ResponseTimeout, topology.WebBackend.RetryOn);
        Assert.Equal(RetryConditions.Default, BackendSpec.Default.RetryOn);
    }

    [Fact]
    public void Load_On_IsExactlyTheNamedConditions()
    {
        var topology = TopologyLoader.Load(Write("app", retries => retries["on"] = new JsonArray("conn-failure", "503")));

        Assert.Equal(RetryConditions.ConnectionFailure | RetryConditions.Status503, topology.AppBackend.RetryOn);
    }

    [Fact]
    public void Load_RepositoryTopologies_RetryAppTier503s()
    {
        foreach (var path in new[] { "strata.json", Path.Combine("examples", "python-app", "strata.json") })
        {
            var topology = TopologyLoader.Load(Path.Combine(TestTopology.RepositoryRoot, path));

            Assert.Equal(RetryConditions.Default | RetryConditions.Status503, topology.AppBackend.RetryOn);
            Assert.Equal(RetryConditions.Default, topology.WebBackend.RetryOn);
        }
    }

    [Theory]
    [InlineData("\"502\"", "'502' is not a retry condition; the conditions are: conn-failure, empty-response, response-timeout, 503")]
    [InlineData("\"all-retryable-errors\"", "'all-retryable-errors' is not a retry condition; the conditions are: conn-failure, empty-response, response-timeout, 503")]
    [InlineData("", "names no condition; to turn retries off set retries.count to 0")]
    public void Load_BadOn_NamesTheFieldAndTheProblem(string items, string problem)
    {
        var path = Write("app", retries => retries["on"] = JsonNode.Parse($"[{items}]"));

        var error = Assert.Single(Assert.Throws<TopologyException>(() => TopologyLoader.Load(path)).Errors);
        Assert.Equal(("app.retries.on", problem), (error.Field, error.Problem));
    }

    [Fact]
    public void Load_OnNotAList_IsRefused()
    {
        var path = Write("web", retries => retries["on"] = "503");

        var error = Assert.Single(Assert.Throws<TopologyException>(() => TopologyLoader.Load(path)).Errors);
        Assert.StartsWith("web.retries.on", error.Field, StringComparison.Ordinal);
    }

    private string Write(string tier, Action<JsonObject> change)
    {
        var root = TestTopology.DefaultJson();
        if (root[tier]!["retries"] is not JsonObject retries)
        {
            retries = new JsonObject();
            root[tier]!["retries"] = retries;
        }

        change(retries);
        return TestTopology.Write(root, _dir);
    }
}
