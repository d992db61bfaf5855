using Strata.Orchestration.Status;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.Orchestration.Status;

/// <summary>A node's admin state and traffic in <c>strata status</c>, from what the proxies in front report.</summary>
public sealed class NodeTrafficTests
{
    private static readonly NodeSpec Web1 = TestTopology.Node("web-1", NodeRole.Web);
    private static readonly NodeSpec Lb1 = TestTopology.Node("lb-1", NodeRole.LoadBalancer);

    [Fact]
    public void Of_WebNodeDrainedOnBothLoadBalancers_DrainingWithTheirSummedRates()
    {
        var traffic = NodeTraffic.Of(Web1, [
            Proxy("lb-1", new ServerView("web-1", "DRAIN", 6, 0.3), new ServerView("web-2", "UP", 6, 0)),
            Proxy("lb-2", new ServerView("web-1", "DRAIN", 2, 0.1)),
        ]);

        Assert.Equal(NodeStates.Draining, traffic.AdminState);
        Assert.Equal(8, traffic.RequestsPerSecond);
        Assert.Equal(0.05, traffic.ErrorRate);
        Assert.Equal(new Dictionary<string, string> { ["lb-1"] = "DRAIN", ["lb-2"] = "DRAIN" }, traffic.SeenBy);
    }

    [Fact]
    public void Of_MaintenanceOnOneDrainOnAnother_Maintenance()
    {
        var traffic = NodeTraffic.Of(Web1, [Proxy("lb-1", new ServerView("web-1", "MAINT", 0, 0)), Proxy("lb-2", new ServerView("web-1", "DRAIN", 0, 0))]);

        Assert.Equal(NodeStates.Maintenance, traffic.AdminState);
        Assert.Equal(0, traffic.ErrorRate);
    }

    [Fact]
    public void Of_InTwoPoolsOfOneProxy_TheMoreRestrictiveStateAndBothPoolsRates()
    {
        var traffic = NodeTraffic.Of(Web1, [Proxy("lb-1", new ServerView("web-1", "UP", 3, 0), new ServerView("web-1", "DRAIN", 1, 1))]);

        Assert.Equal(NodeStates.Draining, traffic.AdminState);
        Assert.Equal(4, traffic.RequestsPerSecond);
        Assert.Equal(0.25, traffic.ErrorRate);
        Assert.Equal("DRAIN", traffic.SeenBy!["lb-1"]);
    }

    [Fact]
    public void Of_UpEverywhere_NoAdminState()
    {
        var traffic = NodeTraffic.Of(Web1, [Proxy("lb-1", new ServerView("web-1", "UP", 1, 0)), Proxy("lb-2", new ServerView("web-1", "DOWN", 0, 0))]);

        Assert.Null(traffic.AdminState);
        Assert.Equal("DOWN", traffic.SeenBy!["lb-2"]);
    }

    [Fact]
    public void Of_NoProxyInFrontAnswered_Unknown()
    {
        var traffic = NodeTraffic.Of(Web1, [Proxy("web-2", new ServerView("app-1", "UP", 1, 0))]);

        Assert.Equal(new NodeTraffic(null, null, null, null), traffic);
    }

    [Fact]
    public void Of_LoadBalancer_ItsOwnAnswersAndTheir5xx()
    {
        var traffic = NodeTraffic.Of(Lb1, [new ProxyStats("lb-1", 40, 2, [new ServerView("web-1", "UP", 20, 0)])]);

        Assert.Equal(new NodeTraffic(null, 40, 0.05, null), traffic);
    }

    private static ProxyStats Proxy(string name, params ServerView[] servers) => new(name, 0, 0, servers);
}
