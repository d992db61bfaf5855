using System.Diagnostics;
using System.Text;
using Strata.Hosting.Processes;

namespace Strata.Tests.Cluster.Wire;

/// <summary>
/// keepalived (the Debian package) in the foreground inside a namespace, with its log captured and its own pid
/// files in a temporary folder; stopped by its PID. `ip netns exec` execs keepalived, so the PID we started is
/// keepalived's parent process.
/// </summary>
internal sealed class KeepalivedProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly DirectoryInfo _directory;

    private KeepalivedProcess(Process process, DirectoryInfo directory)
    {
        _process = process;
        _directory = directory;
    }

    /// <summary>Why keepalived cannot run here, or null.</summary>
    public static string? Unavailable =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries).Any(dir => File.Exists(Path.Combine(dir, "keepalived")))
            ? null
            : "keepalived is not installed (apt-get install keepalived)";

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

        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[]
        {
            "netns", "exec", ns, "keepalived", "--dont-fork", "--log-console", "--vrrp", "--use-file", path,
            "--pid", Path.Combine(directory.FullName, "keepalived.pid"), "--vrrp_pid", Path.Combine(directory.FullName, "vrrp.pid"),
            "--checkers_pid", Path.Combine(directory.FullName, "checkers.pid"), "--bfd_pid", Path.Combine(directory.FullName, "bfd.pid"),
        })
        {
            start.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = start };
        var keepalived = new KeepalivedProcess(process, directory);
        process.OutputDataReceived += (_, e) => keepalived.Append(e.Data);
        process.ErrorDataReceived += (_, e) => keepalived.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return keepalived;
    }

    /// <summary>Everything keepalived logged so far.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

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

    /// <summary>SIGTERM (it stops its VRRP child, which removes the VIP); SIGKILL after 5 s.</summary>
    public async ValueTask DisposeAsync()
    {
        await ChildProcesses.StopAsync(_process, TimeSpan.FromSeconds(5), TimeProvider.System);

        _process.Dispose();
        _directory.Delete(recursive: true);
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }
    }
}
