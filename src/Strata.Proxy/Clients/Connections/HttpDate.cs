using System.Globalization;
using System.Text;

namespace Strata.Proxy.Clients.Connections;

/// <summary>The HTTP date (RFC 9110 §5.6.7) of the current second, formatted once a second as Kestrel's Date is.</summary>
public static class HttpDate
{
    /// <summary>"Mon, 07 Dec 2026 01:49:55 GMT".</summary>
    public const int Length = 29;

    private static Formatted s_current = new(long.MinValue, new byte[Length]);

    /// <summary>The current second's date.</summary>
    public static ReadOnlySpan<byte> Current
    {
        get
        {
            var now = DateTimeOffset.UtcNow;
            var second = now.UtcTicks / TimeSpan.TicksPerSecond;
            var current = Volatile.Read(ref s_current);
            if (current.Second != second)
            {
                var bytes = new byte[Length];
                Encoding.ASCII.GetBytes(now.ToString("r", CultureInfo.InvariantCulture), bytes);
                current = new Formatted(second, bytes);
                Volatile.Write(ref s_current, current);
            }

            return current.Bytes;
        }
    }

    private sealed record Formatted(long Second, byte[] Bytes);
}
