using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Strata.Hosting.Processes;

/// <summary>
/// Chooses a free port for another process to bind later (a child application, a database server).
/// </summary>
/// <remarks>
/// The usual trick (bind port 0, read the port, close) leaves a window between choosing and the child's bind, and
/// the kernel hands that same port to the next program that binds port 0 or connects out: seen in the test suite,
/// where a test server took a restarted application's port and answered its health checks. So ports are chosen
/// below the kernel's ephemeral range (<c>/proc/sys/net/ipv4/ip_local_port_range</c>), which port 0 and outgoing
/// connections never use, going round from a random start so one process never hands out the same port twice in a
/// row, each checked free by a bind.
/// </remarks>
public static class FreePorts
{
    private static readonly (int Low, int High) Range = RangeBelowEphemeral();
    private static int _next = Random.Shared.Next(Range.High - Range.Low + 1);

    /// <summary>A TCP port free on <paramref name="address"/> (loopback by default) right now.</summary>
    public static int Tcp(IPAddress? address = null) => Choose(address ?? IPAddress.Loopback, udpToo: false);

    /// <summary>A port free for both TCP and UDP on <paramref name="address"/> right now (a DNS server's).</summary>
    public static int TcpAndUdp(IPAddress? address = null) => Choose(address ?? IPAddress.Loopback, udpToo: true);

    private static int Choose(IPAddress address, bool udpToo)
    {
        var size = Range.High - Range.Low + 1;
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = Range.Low + (int)((uint)Interlocked.Increment(ref _next) % (uint)size);
            if (IsFree(address, port, SocketType.Stream, ProtocolType.Tcp)
                && (!udpToo || IsFree(address, port, SocketType.Dgram, ProtocolType.Udp)))
            {
                return port;
            }
        }

        throw new InvalidOperationException($"no free port on {address} between {Range.Low} and {Range.High}");
    }

    private static bool IsFree(IPAddress address, int port, SocketType type, ProtocolType protocol)
    {
        using var socket = new Socket(address.AddressFamily, type, protocol);
        try
        {
            socket.Bind(new IPEndPoint(address, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The upper half of the ports below the ephemeral range (16384–32767 with Linux's default).</summary>
    private static (int Low, int High) RangeBelowEphemeral()
    {
        var ephemeralLow = 32768;
        try
        {
            var fields = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range")
                .Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            ephemeralLow = int.Parse(fields[0], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            // Not Linux, or no /proc: keep the default.
        }

        // An ephemeral range that starts low (a tuned server) leaves no room below it: use 10000-19999 then, and
        // rely on the bind check alone.
        return ephemeralLow > 4096 ? (ephemeralLow / 2, ephemeralLow - 1) : (10000, 19999);
    }
}
