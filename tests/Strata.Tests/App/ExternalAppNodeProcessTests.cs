using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.Hosting.Processes;
using Strata.Tests.Common;

namespace Strata.Tests.App;

/// <summary>The real app node executable in command mode, killed the hard way.</summary>
public sealed class ExternalAppNodeProcessTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    private readonly string _dir = Directory.CreateTempSubdirectory("strata-appkill-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task NodeSigkilled_ItsApplicationDiesWithIt()
    {
        var port = FreePorts.Tcp();
        var management = FreePorts.Tcp();
        var path = WriteTopology(port, management);
        using var node = StartNode(path);
        int child = 0;
        try
        {
            using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };
            var hello = new Uri($"http://127.0.0.1:{port}/api/hello");
            Assert.True(
                await Eventually.TrueAsync(
                    async () =>
                    {
                        try
                        {
                            using var response = await client.GetAsync(hello);
                            if (response.StatusCode != HttpStatusCode.OK)
                            {
                                return false;
                            }

                            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                            child = json.RootElement.GetProperty("pid").GetInt32();
                            return true;
                        }
                        catch (HttpRequestException)
                        {
                            return false;
                        }
                    },
                    Generous),
                "the app node never served its application");
            Assert.NotEqual(node.Id, child);
            Assert.True(IsAlive(child));

            // SIGKILL: the node cannot stop its child itself; the kernel must (PR_SET_PDEATHSIG through setpriv).
            node.Kill(entireProcessTree: false);
            await node.WaitForExitAsync();

            Assert.True(await Eventually.TrueAsync(() => Task.FromResult(!IsAlive(child)), Generous), $"the application (pid {child}) outlived its node");
            output.WriteLine($"node pid {node.Id} killed; its application (pid {child}) is gone");
        }
        finally
        {
            if (!node.HasExited)
            {
                node.Kill(entireProcessTree: false);
            }

            // Never leave the application behind, even when the test failed: by its own PID, if still python.
            if (child != 0 && IsAlive(child) && File.ReadAllText($"/proc/{child}/comm").StartsWith("python", StringComparison.Ordinal))
            {
                using var leftover = Process.GetProcessById(child);
                leftover.Kill(entireProcessTree: false);
            }
        }
    }

    /// <summary>Alive: /proc has it and it is not a zombie waiting to be reaped.</summary>
    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            return state != "Z" && state != "X";
        }
        catch (IOException)
        {
            return false;
        }
    }

    private string WriteTopology(int port, int management)
    {
        var example = Path.Combine(TestTopology.RepositoryRoot, "examples", "python-app");
        var root = JsonNode.Parse(
            File.ReadAllText(Path.Combine(example, "strata.json")),
            documentOptions: new() { CommentHandling = JsonCommentHandling.Skip })!.AsObject();
        root["web"]!["root"] = Path.Combine(TestTopology.RepositoryRoot, "wwwroot");
        root["app"]!["command"]!["run"] = new JsonArray("python3", Path.Combine(example, "app.py"));
        root["app"]!["command"]!["workingDirectory"] = example;
        root["app"]!["nodes"]![0]!["address"] = $"127.0.0.1:{port}";
        root["app"]!["nodes"]![0]!["management"] = $"127.0.0.1:{management}";
        root["database"]!["path"] = Path.Combine(_dir, "foobar.db");
        return TestTopology.Write(root, _dir);
    }

    private static Process StartNode(string topologyPath)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? ChildProcess.FindOnPath("dotnet")!;
        var startInfo = new ProcessStartInfo(dotnet)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "Strata.dll"), "app", "app-1", "--file", topologyPath })
        {
            startInfo.ArgumentList.Add(argument);
        }

        var process = Process.Start(startInfo)!;
        process.StandardInput.Close();
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
