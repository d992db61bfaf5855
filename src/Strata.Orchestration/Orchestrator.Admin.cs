using Strata.Orchestration.Admin;
using Strata.Topology;

namespace Strata.Orchestration;

/// <summary><c>strata drain|ready|maint</c> (and the dashboard's buttons): a server's admin state, told to the proxies in front.</summary>
public sealed partial class Orchestrator
{
    /// <summary>
    /// Tells every running proxy in front of the web or app node <paramref name="name"/> (the load balancers before a
    /// web node, the web nodes before an app node) to <paramref name="action"/> it: drain, ready or maintenance. Writes a
    /// line per proxy; 0 when all of them agreed, 1 otherwise, 2 when the node is not a web or app node.
    /// </summary>
    public async Task<int> TellProxiesAsync(string name, string action, CancellationToken cancellationToken)
    {
        ReadRun();
        if (_layout.FindNode(name) is not { Role: NodeRole.Web or NodeRole.App } server)
        {
            return Refuse($"'{name}' is not a web or app node: only those are servers of a proxy in front");
        }

        if (AdminToken() is not { } token)
        {
            return Fail("no admin token: none in the topology and no run token (is the topology running? 'strata up')");
        }

        var proxies = RunningProxiesInFront(server).ToList();
        if (proxies.Count == 0)
        {
            return Fail($"no {(ProxyAdmin.FrontOf(server) == NodeRole.LoadBalancer ? "load balancer" : "web node")} is running to tell about {name}");
        }

        using var admin = new ProxyAdmin(token);
        var results = await Task.WhenAll(proxies.Select(proxy => admin.TellAsync(proxy, name, action, cancellationToken)));
        foreach (var (line, ok) in results)
        {
            (ok ? output : error ?? output).WriteLine(line);
        }

        return results.All(r => r.Ok) ? 0 : 1;
    }
}
