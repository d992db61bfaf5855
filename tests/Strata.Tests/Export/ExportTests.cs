using System.Text.Json.Nodes;
using Strata.Export;
using Strata.Tests.Common;
using Strata.Topology;
using Xunit.Abstractions;

namespace Strata.Tests.Export;

/// <summary>
/// <c>strata export</c>: the files say what the topology says, and the real tools accept them (<c>haproxy -c</c>,
/// <c>nginx -t</c>, <c>keepalived -t</c>; run-tests installs them). That they also serve like Strata does is what
/// bench/compare.py's tiny run (CompareHarnessTests) shows by running both stacks from the same file.
/// </summary>
public sealed class ExportTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("strata-export-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [SkippableFact]
    public async Task DefaultTopology_EveryTarget_IsAcceptedByTheRealTool()
    {
        var topology = TopologyLoader.Load(TestTopology.Write(TestTopology.DefaultJson(), _dir));
        var written = Write(topology);

        await CheckAsync("haproxy", ["-c", "-f", written["haproxy.cfg"]]);
        await CheckAsync("nginx", ["-t", "-c", written["nginx.conf"]]);
        await CheckAsync("keepalived", ["-t", "-f", written["keepalived-lb-1.conf"]]);
        await CheckAsync("keepalived", ["-t", "-f", written["keepalived-lb-2.conf"]]);
    }

    [Fact]
    public void Haproxy_SaysWhatTheTopologySays()
    {
        var json = TestTopology.DefaultJson();
        json["web"]!["balancing"] = new JsonObject { ["algorithm"] = "hash", ["hashOn"] = "header:X-Tenant" };
        json["web"]!["persistence"] = new JsonObject { ["cookie"] = "SRV" };
        json["web"]!["retries"] = new JsonObject { ["count"] = 2, ["on"] = new JsonArray("conn-failure", "503") };
        var haproxy = ClassicExport.Files(Load(json), "haproxy", _dir)["haproxy.cfg"];

        Assert.Contains("bind 127.0.0.100:8080\n", haproxy, StringComparison.Ordinal);
        Assert.Contains("balance hdr(X-Tenant)\n    hash-type consistent\n", haproxy, StringComparison.Ordinal);
        Assert.Contains("retries 2\n    option redispatch 1\n    retry-on conn-failure 503\n", haproxy, StringComparison.Ordinal);
        Assert.Contains("http-check send meth GET uri /readyz\n", haproxy, StringComparison.Ordinal);
        Assert.Contains("default-server check inter 2000ms fastinter 500ms fall 3 rise 2", haproxy, StringComparison.Ordinal);
        Assert.Contains("cookie SRV insert indirect nocache httponly\n", haproxy, StringComparison.Ordinal);
        Assert.Contains("server web-1 127.0.2.1:8080 weight 1 addr 127.0.2.1 port 8081 cookie web-1\n", haproxy, StringComparison.Ordinal);
        Assert.Contains("server web-2 127.0.2.2:8080 weight 1 addr 127.0.2.2 port 8081 cookie web-2\n", haproxy, StringComparison.Ordinal);
    }

    [Fact]
    public void Nginx_KeepsAliveToTheAppTier_AndSplitsLikeTheWebNode()
    {
        var nginx = ClassicExport.Files(Load(TestTopology.DefaultJson()), "nginx", _dir)["nginx.conf"];

        // Without these, nginx speaks HTTP/1.0 to the app nodes and opens a connection per request.
        Assert.Contains("proxy_http_version 1.1;\n", nginx, StringComparison.Ordinal);
        Assert.Contains("proxy_set_header Connection \"\";\n", nginx, StringComparison.Ordinal);
        Assert.Contains("keepalive 64;\n", nginx, StringComparison.Ordinal);
        Assert.Contains("server 127.0.3.1:8080 weight=1 max_fails=3 fail_timeout=10s;\n", nginx, StringComparison.Ordinal);
        // The app tier retries on 503 in strata.json: so does nginx, never for a POST (nginx's default).
        Assert.Contains("proxy_next_upstream error timeout http_503;\n", nginx, StringComparison.Ordinal);
        Assert.Contains("proxy_next_upstream_tries 4;\n", nginx, StringComparison.Ordinal);
        Assert.Contains("listen 127.0.2.1:8080;\n", nginx, StringComparison.Ordinal);
        Assert.Contains("location /api/ {\n            proxy_pass http://app;", nginx, StringComparison.Ordinal);
        Assert.Contains("location /static/ {\n            try_files $uri =404;", nginx, StringComparison.Ordinal);
        Assert.Contains("try_files $uri $uri/ @app;", nginx, StringComparison.Ordinal);
        Assert.Contains("error_page 500 502 503 504 /50x.html;", nginx, StringComparison.Ordinal);
        Assert.Contains("listen 127.0.2.1:8081;\n", nginx, StringComparison.Ordinal);
        Assert.Contains($"pid {Path.Combine(_dir, "nginx.pid")};", nginx, StringComparison.Ordinal);
    }

    [Fact]
    public void Keepalived_OneFilePerLoadBalancer_WithItsPriorityAndPeers()
    {
        var json = TestTopology.DefaultJson();
        json["vip"]!["preempt"] = false;
        var files = ClassicExport.Files(Load(json), "keepalived", _dir);

        Assert.Equal(["keepalived-lb-1.conf", "keepalived-lb-2.conf"], files.Keys.Order());
        var lb1 = files["keepalived-lb-1.conf"];
        Assert.Contains("state MASTER\n", lb1, StringComparison.Ordinal);
        Assert.Contains("virtual_router_id 51\n", lb1, StringComparison.Ordinal);
        Assert.Contains("priority 200\n", lb1, StringComparison.Ordinal);
        Assert.Contains("advert_int 0.1\n", lb1, StringComparison.Ordinal);
        Assert.Contains("nopreempt\n", lb1, StringComparison.Ordinal);
        Assert.Contains("unicast_peer {\n        127.0.1.2\n    }", lb1, StringComparison.Ordinal);
        Assert.Contains("127.0.0.100/32 dev eth0", lb1, StringComparison.Ordinal);
        Assert.Contains("weight -150\n", lb1, StringComparison.Ordinal);
        Assert.Contains("state BACKUP\n", files["keepalived-lb-2.conf"], StringComparison.Ordinal);
    }

    [Fact]
    public void SameTopology_SameBytes()
    {
        var topology = Load(TestTopology.DefaultJson());

        foreach (var target in ClassicExport.Targets)
        {
            Assert.Equal(ClassicExport.Files(topology, target, _dir), ClassicExport.Files(topology, target, _dir));
        }
    }

    [Fact]
    public async Task Cli_UnknownTarget_IsAUsageErrorListingTheTargets()
    {
        var result = await StrataCli.RunAsync("export", "apache", "-f", TestTopology.Write(TestTopology.DefaultJson(), _dir), "-o", _dir);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("the targets are: haproxy, nginx, keepalived", result.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_dir, "*.cfg"));
    }

    [Fact]
    public async Task Cli_Output_WritesTheFilesAndNamesThem()
    {
        var target = Path.Combine(_dir, "out");
        var result = await StrataCli.RunAsync("export", "haproxy", "-f", TestTopology.Write(TestTopology.DefaultJson(), _dir), "-o", target);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal(Path.Combine(target, "haproxy.cfg"), result.Output.Trim());
        Assert.StartsWith("# Generated by 'strata export'", File.ReadAllText(Path.Combine(target, "haproxy.cfg")), StringComparison.Ordinal);
    }

    private Strata.Topology.Topology Load(JsonObject json) => TopologyLoader.Load(TestTopology.Write(json, _dir));

    private Dictionary<string, string> Write(Strata.Topology.Topology topology)
    {
        var paths = new Dictionary<string, string>();
        foreach (var target in ClassicExport.Targets)
        {
            foreach (var folder in ClassicExport.Folders(topology, target, _dir))
            {
                Directory.CreateDirectory(folder);
            }

            foreach (var (name, text) in ClassicExport.Files(topology, target, _dir))
            {
                File.WriteAllText(paths[name] = Path.Combine(_dir, name), text);
            }
        }

        return paths;
    }

    private async Task CheckAsync(string tool, string[] arguments)
    {
        var path = ChildProcess.FindOnPath(tool) ?? new[] { "/usr/sbin", "/sbin" }.Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);
        Requirements.CheckOrReport(path is null ? $"{tool} is not installed (./run-tests installs it as root)" : null, output);
        var result = await ChildProcess.RunAsync(path!, arguments, TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, $"{tool} {string.Join(' ', arguments)} refused the export ({result.ExitCode}): {result.Output}{result.Error}");
    }
}
