using System.Net;
using System.Text.Json.Nodes;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.Topology;

public sealed class TopologyLoaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("strata-topology-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Load_DefaultTopology_DescribesTheSeed()
    {
        var topology = TopologyLoader.Load(Path.Combine(TestTopology.RepositoryRoot, "strata.json"));

        Assert.Equal(IPEndPoint.Parse("127.0.0.100:8080"), topology.Vip);
        Assert.Equal(IPEndPoint.Parse("127.0.0.1:8053"), topology.Dns.Address);
        Assert.Equal(["lb-1", "lb-2"], topology.LoadBalancers.Select(n => n.Name));
        Assert.Equal(["web-1", "web-2"], topology.WebNodes.Select(n => n.Name));
        Assert.Equal(["app-1", "app-2"], topology.AppNodes.Select(n => n.Name));
        Assert.All(topology.LoadBalancers, n => Assert.StartsWith("127.0.1.", n.Address.Address.ToString()));
        Assert.All(topology.WebNodes, n => Assert.StartsWith("127.0.2.", n.Address.Address.ToString()));
        Assert.All(topology.AppNodes, n => Assert.StartsWith("127.0.3.", n.Address.Address.ToString()));
        Assert.Equal(IPAddress.Parse("127.0.0.100"), topology.Zone.Records["www.foobar.com"]);
        Assert.Equal(IPAddress.Parse("127.0.0.100"), topology.Zone.Records["foobar.com"]);
        Assert.Equal("sqlite", topology.Database.Engine);
        Assert.Equal(BalancingAlgorithms.RoundRobin, topology.WebBackend.Algorithm);
        Assert.Equal(new HealthCheckSpec("/readyz", TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(2), 3, 2), topology.WebBackend.HealthCheck);
        Assert.Equal(3, topology.WebBackend.Retries);
        Assert.Equal([200, 100], topology.LoadBalancers.Select(n => n.Priority));
        Assert.Equal(TimeSpan.FromMilliseconds(100), topology.Vrrp.AdvertInterval);
        Assert.True(Path.IsPathRooted(topology.Database.Path));
        Assert.True(Directory.Exists(Path.Combine(topology.WebRoot, "static")));
        Assert.Equal(7, topology.AllNodes.Count());
    }

    [Theory]
    [InlineData("web.nodes[0].adress", "unknown field")]
    [InlineData("web.nodes[1].address", "'127.0.2.1:8080' is already used by web-1")]
    [InlineData("app.nodes[1].name", "'app-1' is already the name of app.nodes[0].name")]
    [InlineData("vip.address", "'127.0.0.100' is not an IPv4 host:port")]
    [InlineData("loadBalancers.nodes[0].address", "'127.0.1.1:0' needs a port from 1 to 65535")]
    [InlineData("web.nodes[0].name", "'Web_1' is not a valid node name (lower-case letters, digits and '-', starting with a letter)")]
    [InlineData("dns.zone", "'foo..com' is not a valid domain name")]
    [InlineData("dns.records.www", "'not-an-ip' is neither an IPv4 address nor \"vip\"")]
    [InlineData("database.engine", "'postgres' is not supported; the engines are: sqlite, mysql")]
    [InlineData("database.connectionString", "is required when the engine is mysql and not managed (e.g. \"Server=127.0.0.1;Database=foobar;User ID=strata;Password=...\")")]
    [InlineData("app.healthCheck.fall", "0 is out of range (1 to 100)")]
    [InlineData("app.nodes", "must list at least one node")]
    [InlineData("vip", "is required")]
    [InlineData("web.healthCheck.intervalMs", "The JSON value could not be converted to System.Nullable`1[System.Int32] (line 1)")]
    [InlineData("web.balancing.algorithm", "'fastest' is not an algorithm; the algorithms are: round-robin, least-connections, power-of-two, first, hash")]
    [InlineData("web.balancing.hashOn", "'cookie' is not one of: source, path, header:NAME")]
    [InlineData("web.nodes[1].weight", "300 is out of range (0 to 256)")]
    [InlineData("loadBalancers.nodes[0].weight", "only servers of a backend (web, app) have a weight")]
    [InlineData("app.persistence.cookie", "'my cookie' is not a valid cookie name")]
    [InlineData("app.retries.methods", "'GET POST' is not an HTTP method")]
    [InlineData("app.limits.queueTimeoutMs", "0 is out of range (1 to 3600000)")]
    [InlineData("loadBalancers.trustedProxies[1]", "'10.0.0.0/33' is neither an IP address nor a CIDR range")]
    [InlineData("loadBalancers.healthCheck", "unknown field")]
    [InlineData("vip.trackWeight", "100 cannot move the VIP: lb-1 (priority 200) would stay above lb-2 (100) while it cannot serve; use more than 100")]
    [InlineData("web.nodes[0].priority", "only load balancers have a VRRP priority")]
    [InlineData("vip.advertIntervalCs", "0 is out of range (1 to 4095)")]
    [InlineData("vip.mode", "'hot-standby' is not a mode; the modes are: active-passive, active-active")]
    [InlineData("admin.token", "must be at least 16 characters (or leave admin out: strata up generates one)")]
    [InlineData("vip.interface", "'eth0; rm -rf /' is not an interface name (1-15 characters: letters, digits, '.', '-', '_')")]
    [InlineData("web.static.appPrefixes[0]", "'api/' must start with '/'")]
    [InlineData("web.static.index", "'../index.html' must be a file name (no '/', not hidden)")]
    [InlineData("web.static.cacheControl.static/", "the path prefix must start with '/'")]
    [InlineData("web.client.maxBodyBytes", "-1 is out of range (0 to 1099511627776)")]
    [InlineData("web.errorPages.600", "'600' is not an error status (400-599, or 50x for all of 500-599)")]
    [InlineData("web.errorPages.404", "'404.html' must be a path under the web root, starting with '/'")]
    [InlineData("web.accessLog.format", "'apache' is not a format; the formats are: combined, json, off")]
    public void Load_OneBadField_NamesTheFieldAndTheProblem(string field, string problem)
    {
        var path = WriteDefaultWith(field, problem);

        var ex = Assert.Throws<TopologyException>(() => TopologyLoader.Load(path));

        var error = Assert.Single(ex.Errors);
        Assert.Equal(field, error.Field);
        Assert.Equal(problem, error.Problem);
        Assert.Equal($"{path}: {field}: {problem}", ex.Message);
    }

    [Theory]
    [InlineData("8.8.8.0/24", "'8.8.8.0/24' is not inside a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)")]
    [InlineData("10.0.0.0/8", "'10.0.0.0/8' must be a /16 to /24")]
    [InlineData("10.1.2.0/25", "'10.1.2.0/25' must be a /16 to /24")]
    [InlineData("fd00::/64", "'fd00::/64' is not an IPv4 subnet (e.g. \"10.201.0.0/24\")")]
    public void Load_BadNetnsSubnet_SaysWhy(string subnet, string problem)
    {
        var path = Write(Default(root => root["netns"] = new JsonObject { ["subnet"] = subnet }));

        var error = Assert.Single(Assert.Throws<TopologyException>(() => TopologyLoader.Load(path)).Errors);
        Assert.Equal(("netns.subnet", problem), (error.Field, error.Problem));
    }

    [Fact]
    public void Load_Dashboard_OnAt8099UnlessTheFileSaysOtherwise()
    {
        var file = TopologyLoader.Load(Path.Combine(TestTopology.RepositoryRoot, "strata.json"));
        var moved = TopologyLoader.Load(Write(Default(root => root["dashboard"] = new JsonObject { ["address"] = "127.0.0.1:9099" })));
        var off = TopologyLoader.Load(Write(Default(root => root["dashboard"] = new JsonObject { ["enabled"] = false })));

        Assert.Equal(IPEndPoint.Parse("127.0.0.1:8099"), file.Dashboard);
        Assert.Equal(IPEndPoint.Parse("127.0.0.1:9099"), moved.Dashboard);
        Assert.Null(off.Dashboard);
    }

    [Theory]
    [InlineData("0.0.0.0:8099", "'0.0.0.0:8099' is not a loopback address (e.g. \"127.0.0.1:8099\"); reach the dashboard from elsewhere through an SSH tunnel")]
    [InlineData("192.168.1.5:8099", "'192.168.1.5:8099' is not a loopback address (e.g. \"127.0.0.1:8099\"); reach the dashboard from elsewhere through an SSH tunnel")]
    [InlineData("127.0.0.1:0", "'127.0.0.1:0' needs a port from 1 to 65535")]
    [InlineData("127.0.1.1:8081", "'127.0.1.1:8081' is already used by lb-1 management")]
    public void Load_BadDashboardAddress_SaysWhy(string address, string problem)
    {
        var path = Write(Default(root => root["dashboard"] = new JsonObject { ["address"] = address }));

        var error = Assert.Single(Assert.Throws<TopologyException>(() => TopologyLoader.Load(path)).Errors);
        Assert.Equal(("dashboard.address", problem), (error.Field, error.Problem));
    }

    [Theory]
    [InlineData("responsesPerSecond", 1001, "1001 is out of range (0 to 1000)")]
    [InlineData("window", 0, "0 is out of range (1 to 3600)")]
    [InlineData("slip", 11, "11 is out of range (0 to 10)")]
    [InlineData("ipv4PrefixLength", 33, "33 is out of range (0 to 32)")]
    [InlineData("ipv6PrefixLength", -1, "-1 is out of range (0 to 128)")]
    [InlineData("tableSize", 10, "10 is out of range (64 to 1048576)")]
    public void Load_BadDnsRateLimit_NamesTheField(string name, int value, string problem)
    {
        var path = Write(Default(root => root["dns"]!["rateLimit"] = new JsonObject { [name] = value }));

        var error = Assert.Single(Assert.Throws<TopologyException>(() => TopologyLoader.Load(path)).Errors);
        Assert.Equal(($"dns.rateLimit.{name}", problem), (error.Field, error.Problem));
    }

    [Fact]
    public void Load_DnsRateLimit_DefaultsWhereNotGiven()
    {
        var path = Write(Default(root => root["dns"]!["rateLimit"] = new JsonObject { ["responsesPerSecond"] = 5, ["window"] = 5 }));

        var limit = TopologyLoader.Load(path).DnsRateLimit;

        Assert.Equal(DnsRateLimitSpec.Default with { ResponsesPerSecond = 5, Window = TimeSpan.FromSeconds(5) }, limit);
        Assert.Equal(DnsRateLimitSpec.Default, TopologyLoader.Load(Write(Default(_ => { }))).DnsRateLimit);
    }

    [Fact]
    public void Load_MySqlWithConnectionString_KeepsIt()
    {
        const string ConnectionString = "Server=127.0.0.1;Port=3306;Database=foobar;User ID=strata;Password=secret";
        var path = Write(Default(root => root["database"] = new JsonObject { ["engine"] = "mysql", ["connectionString"] = ConnectionString }));

        var database = TopologyLoader.Load(path).Database;

        Assert.Equal(("mysql", ConnectionString), (database.Engine, database.ConnectionString));
    }

    [Theory]
    [InlineData("  ", "is required when the engine is mysql and not managed (e.g. \"Server=127.0.0.1;Database=foobar;User ID=strata;Password=...\")")]
    [InlineData("localhost", "must be a list of key=value pairs separated by ';' (e.g. \"Server=127.0.0.1;Database=foobar\")")]
    public void Load_MySqlBadConnectionString_SaysWhy(string connectionString, string problem)
    {
        var path = Write(Default(root => root["database"] = new JsonObject { ["engine"] = "mysql", ["connectionString"] = connectionString }));

        var error = Assert.Single(Assert.Throws<TopologyException>(() => TopologyLoader.Load(path)).Errors);
        Assert.Equal(("database.connectionString", problem), (error.Field, error.Problem));
    }

    [Fact]
    public void NetnsLayout_ATierScaled_NoOtherNodeMoves()
    {
        var before = NetnsLayout.Apply(TopologyLoader.Load(Write(Default(_ => { }))));
        var after = NetnsLayout.Apply(TopologyLoader.Load(Write(Default(root =>
        {
            root["web"]!["nodes"]!.AsArray().Add(new JsonObject { ["name"] = "web-3", ["address"] = "127.0.2.3:8080", ["management"] = "127.0.2.3:8081" });
            root["app"]!["nodes"]!.AsArray().RemoveAt(1);
        }))));

        Assert.All(after.AllNodes.Where(n => n.Name != "web-3"), n => Assert.Equal(before.FindNode(n.Name)!.Address, n.Address));
        Assert.Equal("10.201.0.22:8080", after.FindNode("web-3")!.Address.ToString());
    }

    [Fact]
    public void NetnsLayout_MoreWebNodesThanTheirBlock_Refused()
    {
        var path = Write(Default(root =>
        {
            root["netns"] = new JsonObject { ["subnet"] = "10.201.0.0/24" };
            var nodes = root["web"]!["nodes"]!.AsArray();
            for (var i = 3; i <= 31; i++)
            {
                nodes.Add(new JsonObject { ["name"] = $"web-{i}", ["address"] = $"127.0.2.{i}:8080", ["management"] = $"127.0.2.{i}:8081" });
            }
        }));

        var error = Assert.Single(Assert.Throws<TopologyException>(() => TopologyLoader.Load(path)).Errors);
        Assert.Equal(("netns.subnet", "the network layout of 'up --netns' has room for 30 web nodes (.20-.49); the topology has 31"), (error.Field, error.Problem));
    }

    [Fact]
    public void NetnsLayout_MovesEveryNodeTheVipAndTheZoneOntoTheSubnet_KeepingPorts()
    {
        var path = Write(Default(root => root["netns"] = new JsonObject { ["subnet"] = "192.168.40.0/24" }));
        var file = TopologyLoader.Load(path);

        var layout = NetnsLayout.Apply(file);

        Assert.Equal(
            ["dns 192.168.40.10:8053", "lb-1 192.168.40.11:8080", "lb-2 192.168.40.12:8080", "web-1 192.168.40.20:8080",
             "web-2 192.168.40.21:8080", "app-1 192.168.40.50:8080", "app-2 192.168.40.51:8080"],
            layout.AllNodes.Select(n => $"{n.Name} {n.Address}"));
        Assert.All(layout.AllNodes, n => Assert.Equal(n.Address.Address, n.Management.Address));
        Assert.Equal("192.168.40.100:8080", layout.Vip.ToString());
        Assert.Equal("192.168.40.100", layout.Zone.Records["www.foobar.com"].ToString());
        Assert.Equal(NetnsLayout.InterfaceName, layout.Vrrp.Interface);
        Assert.Equal("192.168.40.1", NetnsLayout.HostAddress(layout.NetnsSubnet).ToString());
        Assert.Same(layout, NetnsLayout.Apply(layout));
        Assert.Null(file.Vrrp.Interface);
    }

    [Fact]
    public void Load_WebDefaults_AreNginxLike()
    {
        var web = TopologyLoader.Load(Write(Default(_ => { }))).Web;

        Assert.Equal(["/api/"], web.AppPrefixes.ToArray());
        Assert.Equal(["/static/"], web.StaticPrefixes.ToArray());
        Assert.Equal(1024 * 1024, web.MaxBodyBytes);
        Assert.Equal(Path.Combine(_dir, ".strata", "logs", "{node}.access.log"), web.AccessLogPath);
        Assert.Equal("combined", web.AccessLogFormat);
    }

    [Fact]
    public void Load_CacheControlRules_LongestPrefixFirst()
    {
        var path = Write(Default(root => root["web"]!["static"] = new JsonObject
        {
            ["cacheControl"] = new JsonObject { ["/static/"] = "public, max-age=3600", ["/static/img/"] = "public, max-age=86400" },
        }));

        Assert.Equal(["/static/img/", "/static/"], TopologyLoader.Load(path).Web.CacheControl.Select(r => r.Prefix));
    }

    [Fact]
    public void Load_ActiveActiveWithAnInterfaceVip_IsRefused()
    {
        var path = Write(Default(root =>
        {
            root["vip"]!["mode"] = "active-active";
            root["vip"]!["interface"] = "eth0";
        }));

        var error = Assert.Single(Assert.Throws<TopologyException>(() => TopologyLoader.Load(path)).Errors);
        Assert.Equal("vip.mode", error.Field);
    }

    [Fact]
    public void Load_MissingWebRoot_SaysWhichDirectory()
    {
        var path = Write(Default(root => root["web"]!["root"] = "no-such-dir"));

        var ex = Assert.Throws<TopologyException>(() => TopologyLoader.Load(path));

        var error = Assert.Single(ex.Errors);
        Assert.Equal("web.root", error.Field);
        Assert.Equal($"directory '{Path.Combine(_dir, "no-such-dir")}' does not exist", error.Problem);
    }

    [Fact]
    public void Load_SeveralBadFields_ListsEveryOne()
    {
        var path = Write(Default(root =>
        {
            root["vip"]!["address"] = "nope";
            root["app"]!["nodes"]![0]!["address"] = "127.0.3.1";
        }));

        var ex = Assert.Throws<TopologyException>(() => TopologyLoader.Load(path));

        Assert.Equal(["vip.address", "app.nodes[0].address"], ex.Errors.Select(e => e.Field));
    }

    [Fact]
    public void Load_NotJson_SaysWhere()
    {
        var path = Path.Combine(_dir, "strata.json");
        File.WriteAllText(path, "{ \"vip\": ");

        var ex = Assert.Throws<TopologyException>(() => TopologyLoader.Load(path));

        Assert.Contains("line 1", Assert.Single(ex.Errors).Problem);
    }

    [Fact]
    public void Load_MissingFile_SaysItCannotBeRead()
    {
        var ex = Assert.Throws<TopologyException>(() => TopologyLoader.Load(Path.Combine(_dir, "absent.json")));

        Assert.StartsWith("cannot be read", Assert.Single(ex.Errors).Problem);
    }

    private string WriteDefaultWith(string field, string problem) => Write(Default(root =>
    {
        switch (field)
        {
            case "web.nodes[0].adress":
                root["web"]!["nodes"]![0]!["adress"] = "127.0.2.9:8080";
                break;
            case "web.nodes[1].address":
                root["web"]!["nodes"]![1]!["address"] = "127.0.2.1:8080";
                break;
            case "app.nodes[1].name":
                root["app"]!["nodes"]![1]!["name"] = "app-1";
                break;
            case "vip.address":
                root["vip"]!["address"] = "127.0.0.100";
                break;
            case "loadBalancers.nodes[0].address":
                root["loadBalancers"]!["nodes"]![0]!["address"] = "127.0.1.1:0";
                break;
            case "web.nodes[0].name":
                root["web"]!["nodes"]![0]!["name"] = "Web_1";
                break;
            case "dns.zone":
                root["dns"]!["zone"] = "foo..com";
                break;
            case "dns.records.www":
                root["dns"]!["records"]!["www"] = "not-an-ip";
                break;
            case "database.engine":
                root["database"]!["engine"] = "postgres";
                break;
            case "database.connectionString":
                root["database"]!["engine"] = "mysql";
                break;
            case "app.healthCheck.fall":
                root["app"]!["healthCheck"]!["fall"] = 0;
                break;
            case "app.nodes":
                root["app"]!["nodes"] = new JsonArray();
                break;
            case "vip":
                root.Remove("vip");
                break;
            case "web.healthCheck.intervalMs":
                root["web"]!["healthCheck"]!["intervalMs"] = "2s";
                break;
            case "web.balancing.algorithm":
                root["web"]!["balancing"] = new JsonObject { ["algorithm"] = "fastest" };
                break;
            case "web.balancing.hashOn":
                root["web"]!["balancing"] = new JsonObject { ["algorithm"] = "hash", ["hashOn"] = "cookie" };
                break;
            case "web.nodes[1].weight":
                root["web"]!["nodes"]![1]!["weight"] = 300;
                break;
            case "loadBalancers.nodes[0].weight":
                root["loadBalancers"]!["nodes"]![0]!["weight"] = 2;
                break;
            case "app.persistence.cookie":
                root["app"]!["persistence"] = new JsonObject { ["cookie"] = "my cookie" };
                break;
            case "app.retries.methods":
                root["app"]!["retries"] = new JsonObject { ["methods"] = new JsonArray("GET", "GET POST") };
                break;
            case "app.limits.queueTimeoutMs":
                root["app"]!["limits"] = new JsonObject { ["queueTimeoutMs"] = 0 };
                break;
            case "loadBalancers.trustedProxies[1]":
                root["loadBalancers"]!["trustedProxies"] = new JsonArray("127.0.0.1", "10.0.0.0/33");
                break;
            case "loadBalancers.healthCheck":
                root["loadBalancers"]!["healthCheck"] = new JsonObject();
                break;
            case "vip.trackWeight":
                root["vip"]!["trackWeight"] = 100;
                break;
            case "web.nodes[0].priority":
                root["web"]!["nodes"]![0]!["priority"] = 50;
                break;
            case "vip.advertIntervalCs":
                root["vip"]!["advertIntervalCs"] = 0;
                break;
            case "vip.mode":
                root["vip"]!["mode"] = "hot-standby";
                break;
            case "vip.interface":
                root["vip"]!["interface"] = "eth0; rm -rf /";
                break;
            case "web.static.appPrefixes[0]":
                root["web"]!["static"] = new JsonObject { ["appPrefixes"] = new JsonArray("api/") };
                break;
            case "web.static.index":
                root["web"]!["static"] = new JsonObject { ["index"] = "../index.html" };
                break;
            case "web.static.cacheControl.static/":
                root["web"]!["static"] = new JsonObject { ["cacheControl"] = new JsonObject { ["static/"] = "no-cache" } };
                break;
            case "web.client.maxBodyBytes":
                root["web"]!["client"] = new JsonObject { ["maxBodyBytes"] = -1 };
                break;
            case "web.errorPages.600":
                root["web"]!["errorPages"] = new JsonObject { ["600"] = "/600.html" };
                break;
            case "web.errorPages.404":
                root["web"]!["errorPages"] = new JsonObject { ["404"] = "404.html" };
                break;
            case "web.accessLog.format":
                root["web"]!["accessLog"] = new JsonObject { ["format"] = "apache" };
                break;
            case "admin.token":
                root["admin"] = new JsonObject { ["token"] = "short" };
                break;
            default:
                throw new ArgumentException($"no case for {field} ({problem})", nameof(field));
        }
    }));

    private static JsonObject Default(Action<JsonObject> change)
    {
        var root = TestTopology.DefaultJson();
        change(root);
        return root;
    }

    // Written on one line, so the reader's line numbers are predictable.
    private string Write(JsonObject root) => TestTopology.Write(root, _dir);
}
