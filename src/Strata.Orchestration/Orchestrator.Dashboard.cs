using System.Net;
using Strata.Orchestration.Dashboard;
using Strata.Orchestration.Processes;
using Strata.Orchestration.Runs;

namespace Strata.Orchestration;

/// <summary>
/// The live dashboard of the run (docs/dashboard.md): a foreground <c>up</c> serves it in its own process; under
/// <c>up --detach</c> a small process of its own does (<c>strata dashboard</c>), recorded in the run file, which
/// <c>down</c> stops first by that PID. It never makes <c>up</c> fail: when its address is taken, <c>up</c> says so
/// and goes on without it.
/// </summary>
public sealed partial class Orchestrator
{
    private const string DashboardName = "dashboard";

    private static readonly TimeSpan DashboardStartTimeout = TimeSpan.FromSeconds(20);

    /// <summary>
    /// The command line that runs this executable with some arguments: how <c>up --detach</c> starts the dashboard's
    /// process (without it, a detached run has no dashboard).
    /// </summary>
    public Func<IReadOnlyList<string>, IReadOnlyList<string>>? StrataCommand { get; init; }

    /// <summary>
    /// <c>strata dashboard</c>: serves the dashboard of the running topology at <paramref name="address"/> until
    /// <paramref name="stop"/> fires or the run ends (its run file gone: <c>down</c>, or a run forgotten).
    /// </summary>
    /// <returns>0 once stopped; 1 when nothing runs or the address cannot be bound.</returns>
    public async Task<int> DashboardAsync(IPEndPoint address, CancellationToken stop)
    {
        if (ReadRun() is null)
        {
            return Fail("not running: use 'strata up' to start the topology");
        }

        DashboardServer server;
        try
        {
            server = await DashboardServer.StartAsync(DashboardRun(), address, output);
        }
        catch (IOException ex)
        {
            return Fail($"dashboard: {ex.Message}");
        }

        await using (server)
        {
            output.WriteLine($"dashboard: {server.Url}");
            // The process of 'up --detach' also ends when a new run no longer records it (the old one was never 'down').
            var recorded = false;
            while (!stop.IsCancellationRequested && _run.ReadState() is { } state)
            {
                var mine = state.Dashboard?.Pid == Environment.ProcessId;
                if (recorded && !mine)
                {
                    break;
                }

                recorded |= mine;
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), stop);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        return 0;
    }

    /// <summary>
    /// Starts the dashboard of a run whose nodes are all ready and prints its address: in this process, which then owns
    /// what is returned, or with <paramref name="detach"/> as a process of its own, recorded in the run (null is returned).
    /// </summary>
    private async Task<IAsyncDisposable?> StartDashboardAsync(bool detach)
    {
        if (_file.Dashboard is not { } address)
        {
            return null;
        }

        if (!AddressProbe.IsFree(address))
        {
            output.WriteLine($"dashboard: not started, {address} is in use (another run's dashboard?); 'up --dashboard HOST:PORT' or dashboard.address in {Path.GetFileName(_written.SourcePath)} picks another");
            return null;
        }

        if (!detach)
        {
            try
            {
                var server = await DashboardServer.StartAsync(DashboardRun(), address, output);
                output.WriteLine($"dashboard: {server.Url}");
                return server;
            }
            catch (IOException ex)
            {
                output.WriteLine($"dashboard: not started: {ex.Message}");
                return null;
            }
        }

        if (StrataCommand is null)
        {
            return null;
        }

        var log = _run.LogPath(DashboardName);
        var pid = NodeProcess.Start(StrataCommand([DashboardName, "--file", _written.SourcePath, "--address", address.ToString()]), log);
        _run.WriteState(_run.ReadState()! with { Dashboard = new RunNode(DashboardName, pid, log) });
        output.WriteLine(await DashboardServer.AnswersAsync(address, DashboardStartTimeout, () => NodeProcess.HasExited(pid))
            ? $"dashboard: http://{address}/"
            : $"dashboard: not answering on {address} (see {log})");
        return null;
    }

    /// <summary>Stops the dashboard's own process of an <c>up --detach</c>, by its recorded PID.</summary>
    private static async Task StopDashboardAsync(RunState state)
    {
        if (state.Dashboard is not { } dashboard || !NodeProcess.IsRunning(dashboard.Pid, DashboardName))
        {
            return;
        }

        NodeProcess.Terminate(dashboard.Pid);
        if (!await NodeProcess.WaitForExitAsync([(dashboard.Pid, DashboardName)], TimeSpan.FromSeconds(5)))
        {
            NodeProcess.Kill(dashboard.Pid);
        }
    }

    /// <summary>The run as the dashboard sees it: through orchestrators like this one over the topology file as it is when asked.</summary>
    private DashboardRun DashboardRun() =>
        new(_written.SourcePath, (topology, writer) => new Orchestrator(topology, nodeCommand, writer, writer) { StrataCommand = StrataCommand });

    /// <summary>The topology as it runs (the database of <c>up --db</c>, the addresses of <c>--netns</c>) and the recorded run, or null.</summary>
    internal (Topology.Topology Layout, RunState? Run) Running()
    {
        var state = ReadRun();
        return (_layout, state);
    }
}
