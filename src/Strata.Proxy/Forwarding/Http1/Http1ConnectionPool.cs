using System.Net;

namespace Strata.Proxy.Forwarding.Http1;

/// <summary>
/// The idle kept-alive connections to one server. The newest idle connection is used first, so a steady load
/// keeps as few connections warm as it needs and the rest age out.
/// </summary>
internal sealed class Http1ConnectionPool(IPEndPoint endPoint) : IDisposable
{
    /// <summary>
    /// How long a connection may stay idle. Servers close theirs after their keep-alive timeout (Kestrel's is the
    /// tier's client timeout, 30 s by default); closing ours well before avoids most races with that, and a
    /// connection the server closed anyway is noticed before use or retried (<see cref="Http1Forwarder"/>).
    /// HAProxy purges idle server connections on a similar scale (pool-purge-delay, 5 s).
    /// </summary>
    public const long IdleTimeoutMs = 10_000;

    /// <summary>
    /// A connection idle for less than this is used without first asking the kernel whether the server closed it
    /// (a poll(2) per request, a quarter of the load balancer's extra system calls against HAProxy, which never
    /// asks). Servers close idle connections after seconds (gunicorn's keep-alive is 2 s, Node's 5 s); one closed
    /// within this window anyway fails the exchange before any answer, and an idempotent request is then sent
    /// again on a new connection (<see cref="Http1Forwarder"/>).
    /// </summary>
    public const long TrustedIdleMs = 200;

    private const int MaxIdle = 1024;

    // Oldest first; taken from the end. Under the lock: a few instructions, uncontended most of the time.
    private readonly List<Http1Connection> _idle = [];
    private long _lastSweep;
    private bool _closed;

    public IPEndPoint EndPoint => endPoint;

    /// <summary>An idle connection that is still open, or null when there is none.</summary>
    public Http1Connection? TryTake()
    {
        var now = Environment.TickCount64;
        while (true)
        {
            Http1Connection connection;
            lock (_idle)
            {
                if (_idle.Count == 0)
                {
                    return null;
                }

                connection = _idle[^1];
                _idle.RemoveAt(_idle.Count - 1);
            }

            var idle = now - connection.IdleSince;
            if (idle < TrustedIdleMs || (idle < IdleTimeoutMs && connection.IsOpenAndQuiet()))
            {
                return connection;
            }

            connection.Dispose();
        }
    }

    /// <summary>Keeps <paramref name="connection"/> for a later request, and closes those idle too long.</summary>
    public void Return(Http1Connection connection)
    {
        var now = Environment.TickCount64;
        connection.IdleSince = now;
        List<Http1Connection>? expired = null;
        lock (_idle)
        {
            if (!_closed && _idle.Count < MaxIdle)
            {
                _idle.Add(connection);
                connection = null!;
            }

            if (now - _lastSweep > IdleTimeoutMs)
            {
                _lastSweep = now;
                var old = 0;
                while (old < _idle.Count && now - _idle[old].IdleSince >= IdleTimeoutMs)
                {
                    old++;
                }

                if (old > 0)
                {
                    expired = _idle.GetRange(0, old);
                    _idle.RemoveRange(0, old);
                }
            }
        }

        connection?.Dispose();
        expired?.ForEach(c => c.Dispose());
    }

    /// <summary>Closes the idle connections; those in use are closed when returned.</summary>
    public void Dispose()
    {
        Http1Connection[] idle;
        lock (_idle)
        {
            _closed = true;
            idle = [.. _idle];
            _idle.Clear();
        }

        foreach (var connection in idle)
        {
            connection.Dispose();
        }
    }
}
