using Strata.Hosting;
using Strata.Topology;

namespace Strata.Dns.Server;

/// <summary>Ready once the DNS server listens on its address over UDP and TCP.</summary>
internal sealed class DnsListenerReadinessCheck(NodeSpec node, AuthoritativeDnsServer server) : IReadinessCheck
{
    public string Name => "dns";

    public Task<ReadinessResult> CheckAsync(CancellationToken cancellationToken) =>
        Task.FromResult(server.IsListening
            ? new ReadinessResult(true, $"listening on {node.Address} (UDP+TCP)")
            : new ReadinessResult(false, $"not listening on {node.Address}"));
}
