using Strata.Tests.Common;

namespace Strata.Tests.Cluster.Wire;

/// <summary>
/// keepalived (the Debian package) in the foreground inside a namespace, with its log captured and its own pid
/// files in a temporary folder; stopped by its PID. `ip netns exec` execs keepalived, so the PID we started is
/// keepalived's parent process.
/// </summary>
internal sealed class KeepalivedProcess : IAsyncDisposable
{
    private readonly ForegroundServer _server;
    private readonly DirectoryInfo _directory;

    private KeepalivedProcess(ForegroundServer server, DirectoryInfo directory)
    {
        _server = server;
        _directory = directory;
    }

    /// <summary>Why keepalived cannot run here, or null.</summary>
    public static string? Unavailable =>
        ChildProcess.FindOnPath("keepalived") is null ? "keepalived is not installed (apt-get install keepalived)" : null;

    /// <summary>The configuration for one VRRPv3 instance (vrrp_version 3 sits in global_defs: keepalived 2.2.7 refuses it in the instance).</summary>
    public static string Config(string iface, int routerId, int priority, string advertInterval, string vip) => $$"""
        global_defs {
            router_id strata_test
            enable_script_security
            vrrp_version 3
        }
        vrrp_instance VI {
            state BACKUP
            interface {{iface}}
            virtual_router_id {{routerId}}
            priority {{priority}}
            advert_int {{advertInterval}}
            virtual_ipaddress {
                {{vip}}/32
            }
        }

        """;

    /// <summary>Checks <paramref name="config"/> with <c>keepalived -t</c> in <paramref name="ns"/>, then starts it there.</summary>
    public static async Task<KeepalivedProcess> StartAsync(string ns, string config)
    {
        var directory = Directory.CreateTempSubdirectory("strata-keepalived-");
        var path = Path.Combine(directory.FullName, "keepalived.conf");
        await File.WriteAllTextAsync(path, config);
        var (checkCode, checkOutput) = await Commands.RunAsync("ip", "netns", "exec", ns, "keepalived", "-t", "-f", path);
        Assert.True(checkCode == 0, $"keepalived -t rejected the config ({checkCode}): {checkOutput}");

        var server = ForegroundServer.Start(
            "ip", "netns", "exec", ns, "keepalived", "--dont-fork", "--log-console", "--vrrp", "--use-file", path,
            "--pid", Path.Combine(directory.FullName, "keepalived.pid"), "--vrrp_pid", Path.Combine(directory.FullName, "vrrp.pid"),
            "--checkers_pid", Path.Combine(directory.FullName, "checkers.pid"), "--bfd_pid", Path.Combine(directory.FullName, "bfd.pid"));
        return new KeepalivedProcess(server, directory);
    }

    /// <summary>Everything keepalived logged so far.</summary>
    public string Log => _server.Log;

    /// <summary>The state keepalived entered last ("BACKUP", "MASTER"), from its log, or null before any.</summary>
    public string? LastState
    {
        get
        {
            var text = Log;
            var backup = text.LastIndexOf("Entering BACKUP STATE", StringComparison.Ordinal);
            var master = text.LastIndexOf("Entering MASTER STATE", StringComparison.Ordinal);
            return backup < 0 && master < 0 ? null : backup > master ? "BACKUP" : "MASTER";
        }
    }

    /// <summary>Stops keepalived (<see cref="ForegroundServer.DisposeAsync"/>) and removes its folder.</summary>
    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _directory.Delete(recursive: true);
    }
}
