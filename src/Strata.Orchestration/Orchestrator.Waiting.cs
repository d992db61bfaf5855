using Strata.Orchestration.Processes;
using Strata.Orchestration.Runs;
using Strata.Orchestration.Status;
using Strata.Topology;

namespace Strata.Orchestration;

/// <summary>Waiting for started nodes: each ready (its /readyz), and for the load balancers one holding the VIP.</summary>
public sealed partial class Orchestrator
{
    private async Task<string?> WaitReadyAsync(
        IReadOnlyList<NodeSpec> nodes, RunState state, NodeProbe probe, DateTime deadline, CancellationToken cancellationToken)
    {
        var waiting = nodes.ToList();
        while (waiting.Count > 0)
        {
            foreach (var node in waiting.ToList())
            {
                var pid = state.Find(node.Name)!.Pid;
                if (NodeProcess.HasExited(pid))
                {
                    return $"{node.Name} exited before it was ready. Last lines of {_run.LogPath(node.Name)}:{Environment.NewLine}{Tail(_run.LogPath(node.Name))}";
                }

                if (await probe.IsReadyAsync(node, cancellationToken))
                {
                    waiting.Remove(node);
                }
            }

            if (waiting.Count == 0)
            {
                break;
            }

            if (DateTime.UtcNow >= deadline)
            {
                return $"not ready within {ReadyTimeout.TotalSeconds:0} s: {string.Join(", ", waiting.Select(n => n.Name))} (see {_run.LogPath(waiting[0].Name)})";
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return "interrupted";
            }

            await Task.Delay(100, CancellationToken.None);
        }

        return null;
    }

    /// <summary>The load balancers are ready only once one of them has won the election and listens on the VIP.</summary>
    private async Task<string?> WaitForVipOwnerAsync(NodeProbe probe, DateTime deadline, CancellationToken cancellationToken)
    {
        while (true)
        {
            foreach (var node in _layout.LoadBalancers)
            {
                if (await probe.VrrpAsync(node, cancellationToken) is { Listening: true })
                {
                    return null;
                }
            }

            if (DateTime.UtcNow >= deadline || cancellationToken.IsCancellationRequested)
            {
                return $"no load balancer took the VIP {_layout.Vip} within {ReadyTimeout.TotalSeconds:0} s (see {_run.LogPath(_layout.LoadBalancers[0].Name)})";
            }

            await Task.Delay(50, CancellationToken.None);
        }
    }

    private static string Tail(string path, int lines = 15)
    {
        try
        {
            return string.Join(Environment.NewLine, LogTail.Read(path, lines).Select(l => "  " + l));
        }
        catch (IOException ex)
        {
            return "  (" + ex.Message + ")";
        }
    }
}
