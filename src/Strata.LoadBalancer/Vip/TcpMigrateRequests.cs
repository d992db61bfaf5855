namespace Strata.LoadBalancer.Vip;

/// <summary>
/// Active-active load balancers share the VIP's port with SO_REUSEPORT. When one of them dies, the kernel closes
/// its listener and, by default, resets the connections still waiting in that listener's accept queue.
/// <c>net.ipv4.tcp_migrate_req</c> (Linux 5.14+, per network namespace) makes the kernel hand them to another
/// listener of the group instead. Nothing in .NET or Kestrel sets it; it is one write to /proc, as root.
/// </summary>
internal static class TcpMigrateRequests
{
    private const string Sysctl = "/proc/sys/net/ipv4/tcp_migrate_req";

    /// <summary>Turns it on in this namespace; what happened, for the log.</summary>
    public static string Enable()
    {
        try
        {
            if (File.ReadAllText(Sysctl).Trim() == "1")
            {
                return "net.ipv4.tcp_migrate_req is on: a dying load balancer's queued connections move to the others";
            }

            File.WriteAllText(Sysctl, "1");
            return "turned on net.ipv4.tcp_migrate_req in this network namespace: a dying load balancer's queued connections move to the others";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"net.ipv4.tcp_migrate_req is off and could not be turned on ({ex.Message}): connections queued in a dying load balancer's listener will be reset; run as root or set it with sysctl";
        }
    }
}
