using System.Net;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Strata.Topology;

namespace Strata.Proxy.Clients.Connections;

/// <summary>
/// The VIP's connection limits (<see cref="ConnectionLimitSpec"/>), as a Kestrel connection middleware ahead of
/// everything else on the VIP's listeners (TLS included): at most <see cref="ConnectionLimitSpec.Max"/> client
/// connections at once, and <see cref="ConnectionLimitSpec.PerClient"/> from one address. A connection beyond either
/// is answered at once (plain HTTP: 503 or 429 with <c>Retry-After</c>, then closed; over TLS, before any handshake
/// work: closed) rather than left to exhaust the node's descriptors and memory.
/// </summary>
/// <remarks>
/// Memory is bounded by the limit itself: an address has an entry only while it holds a connection, so there are
/// never more entries than <see cref="ConnectionLimitSpec.Max"/>. One lock, taken once when a connection opens and
/// once when it closes: nothing per request. Shared by the VIP's listener across take-overs (one per node).
/// </remarks>
public sealed partial class ConnectionLimiter(ConnectionLimitSpec limits, ILogger<ConnectionLimiter> logger)
{
    private static readonly byte[] Full = Encoding.ASCII.GetBytes(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 1\r\nContent-Length: 40\r\nConnection: close\r\n\r\n503 Service Unavailable: too many users\n");

    private static readonly byte[] TooMany = Encoding.ASCII.GetBytes(
        "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 1\r\nContent-Length: 49\r\nConnection: close\r\n\r\n429 Too Many Requests: too many connections open\n");

    private readonly Lock _lock = new();
    private readonly Dictionary<IPAddress, int> _perClient = [];
    private int _current;
    private bool _atLimit;
    private long _refusedFull;
    private long _refusedPerClient;

    /// <summary>Client connections held now.</summary>
    public int Current => Volatile.Read(ref _current);

    /// <summary>Connections refused because the VIP held <see cref="ConnectionLimitSpec.Max"/>.</summary>
    public long RefusedFull => Interlocked.Read(ref _refusedFull);

    /// <summary>Connections refused because their address held <see cref="ConnectionLimitSpec.PerClient"/>.</summary>
    public long RefusedPerClient => Interlocked.Read(ref _refusedPerClient);

    /// <summary>The middleware for a listener: <paramref name="plainHttp"/> when refusals can be answered in HTTP (not over TLS).</summary>
    public Func<ConnectionDelegate, ConnectionDelegate> Middleware(bool plainHttp) => next => context => ServeAsync(context, next, plainHttp);

    private async Task ServeAsync(ConnectionContext context, ConnectionDelegate next, bool plainHttp)
    {
        var address = (context.RemoteEndPoint as IPEndPoint)?.Address;
        if (address is { IsIPv4MappedToIPv6: true })
        {
            address = address.MapToIPv4();
        }

        var refusal = Enter(address);
        if (refusal is not null)
        {
            if (plainHttp)
            {
                await AnswerAsync(context, refusal);
            }

            return;
        }

        try
        {
            await next(context);
        }
        finally
        {
            Leave(address);
        }
    }

    /// <summary>Counts the connection in, or returns the answer that refuses it.</summary>
    private byte[]? Enter(IPAddress? address)
    {
        lock (_lock)
        {
            if (_current >= limits.Max)
            {
                _refusedFull++;
                if (!_atLimit)
                {
                    _atLimit = true;
                    LogAtLimit(limits.Max);
                }

                return Full;
            }

            if (address is not null)
            {
                _perClient.TryGetValue(address, out var held);
                if (limits.PerClient > 0 && held >= limits.PerClient)
                {
                    _refusedPerClient++;
                    return TooMany;
                }

                _perClient[address] = held + 1;
            }

            _current++;
            return null;
        }
    }

    private void Leave(IPAddress? address)
    {
        lock (_lock)
        {
            _current--;
            if (address is not null && _perClient.TryGetValue(address, out var held))
            {
                if (held <= 1)
                {
                    _perClient.Remove(address);
                }
                else
                {
                    _perClient[address] = held - 1;
                }
            }

            // Said once when the limit is reached, once when there is room again (a tenth below it, not each time it dips).
            if (_atLimit && _current <= limits.Max - Math.Max(1, limits.Max / 10))
            {
                _atLimit = false;
                LogBelowLimit(_current, limits.Max);
            }
        }
    }

    /// <summary>
    /// Writes the refusal and closes. What the client sent is read first (up to a second): closing a socket with
    /// unread data sends a reset, which could reach the client before the answer does.
    /// </summary>
    private static async Task AnswerAsync(ConnectionContext context, byte[] answer)
    {
        try
        {
            using (var wait = new CancellationTokenSource(TimeSpan.FromSeconds(1)))
            {
                var read = await context.Transport.Input.ReadAsync(wait.Token);
                context.Transport.Input.AdvanceTo(read.Buffer.End);
            }

            await context.Transport.Output.WriteAsync(answer);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ConnectionResetException)
        {
            // The client sent nothing in time or went away: closed either way.
        }
    }

    [LoggerMessage(EventId = 30, Level = LogLevel.Warning, Message = "The VIP holds {Max} connections, its limit (vip.maxConnections): new connections get 503 until some close")]
    private partial void LogAtLimit(int max);

    [LoggerMessage(EventId = 31, Level = LogLevel.Information, Message = "The VIP holds {Current} connections again, below its limit of {Max}: new connections are taken")]
    private partial void LogBelowLimit(int current, int max);
}
