using Strata.Orchestration.Status;

namespace Strata.Orchestration.Dashboard;

/// <summary>
/// What the dashboard shows, taken once a second: the body of <c>GET /api/state</c> and of each event of
/// <c>GET /api/events</c>. The page draws it whole each time, so nodes that come and go need nothing special.
/// </summary>
/// <param name="At">When it was taken.</param>
/// <param name="Topology">The topology file.</param>
/// <param name="Running">Whether a run is recorded (else every node is down).</param>
/// <param name="Problem">Why the file as it is now is not shown (it does not validate: the last good one is), or null.</param>
/// <param name="Zone">The DNS zone.</param>
/// <param name="Vip">The VIP and the load balancer holding it.</param>
/// <param name="Nodes">Every node of the topology as it runs, DNS first, tier by tier.</param>
/// <param name="Database">The database box.</param>
/// <param name="Edges">Who sends requests to whom, and how many a second.</param>
/// <param name="TierSizes">The size of each tier <c>scale</c> takes (its default pool).</param>
/// <param name="MaxTierSize">The largest size of such a tier.</param>
public sealed record DashboardState(
    DateTimeOffset At,
    string Topology,
    bool Running,
    string? Problem,
    string Zone,
    VipReport Vip,
    IReadOnlyList<NodeView> Nodes,
    DatabaseView Database,
    IReadOnlyList<EdgeView> Edges,
    IReadOnlyDictionary<string, int> TierSizes,
    int MaxTierSize);

/// <summary>One node.</summary>
/// <param name="Name">Its name.</param>
/// <param name="Role">dns, lb, web, app or db.</param>
/// <param name="Address">host:port it serves on.</param>
/// <param name="ManagementUrl">Where its /healthz, /readyz, /metrics answer.</param>
/// <param name="Pid">Its process id, or null when down.</param>
/// <param name="State">ready, starting, draining, maintenance (as the proxies in front have it) or down.</param>
/// <param name="Vrrp">A running load balancer's VRRP state and priority, else null.</param>
/// <param name="Load">Its traffic over the last seconds, or null when nothing measures it.</param>
/// <param name="SeenBy">A web or app node as each running proxy in front sees it.</param>
public sealed record NodeView(
    string Name, string Role, string Address, string ManagementUrl, int? Pid, string State, VrrpStatus? Vrrp, LoadView? Load, IReadOnlyList<ProxyView> SeenBy);

/// <summary>A node's traffic over the last <see cref="DashboardMonitor.Window"/>.</summary>
/// <param name="RequestsPerSecond">A load balancer: the requests it took; a web or app node: those the proxies in front sent it.</param>
/// <param name="ErrorRate">Of those, the share that failed (a load balancer: answered 5xx; a server: failed on it, as the proxies count), or null with none.</param>
/// <param name="P99Milliseconds">The 99th percentile of the node's own request duration histogram, or null when it has none or no request.</param>
public sealed record LoadView(double RequestsPerSecond, double? ErrorRate, double? P99Milliseconds);

/// <summary>A server as one proxy in front sees it.</summary>
/// <param name="Proxy">The proxy.</param>
/// <param name="State">UP, DOWN, DRAIN or MAINT.</param>
/// <param name="Active">Its requests in flight there.</param>
/// <param name="Check">Its last health check of it, or null before the first.</param>
public sealed record ProxyView(string Proxy, string State, int Active, string? Check);

/// <summary>The database: the managed server's node, or what the app nodes open themselves.</summary>
/// <param name="Id">The box's name: the managed server's node (db-1), else "database".</param>
/// <param name="Engine">sqlite or mysql.</param>
/// <param name="Detail">Where it is, said for a person (never a connection string: it may hold a password).</param>
/// <param name="Managed">Whether Strata runs it as the node <paramref name="Id"/>.</param>
public sealed record DatabaseView(string Id, string Engine, string Detail, bool Managed);

/// <summary>Requests flowing from one box to another (dns → vip → load balancers → web → app → database).</summary>
/// <param name="From">A node's name, or "vip".</param>
/// <param name="To">A node's name, "vip" or the database's <see cref="DatabaseView.Id"/>.</param>
/// <param name="RequestsPerSecond">Measured over the window, or null where nothing measures it (DNS answers, queries to the database).</param>
public sealed record EdgeView(string From, string To, double? RequestsPerSecond);

/// <summary>What an action from the page did.</summary>
/// <param name="Ok">Whether it succeeded.</param>
/// <param name="Output">What the command line would have printed.</param>
public sealed record ActionResult(bool Ok, string Output);
