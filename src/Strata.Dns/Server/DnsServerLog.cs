using System.Net;
using Microsoft.Extensions.Logging;

namespace Strata.Dns.Server;

// State changes only: a DNS server answers too many queries to log each one.
internal static partial class DnsServerLog
{
    [LoggerMessage(EventId = 1, EventName = "Started", Level = LogLevel.Information,
        Message = "DNS {Node} authoritative for {Zone} on {Address} (UDP+TCP)")]
    public static partial void Started(ILogger logger, string node, string zone, IPEndPoint address);

    [LoggerMessage(EventId = 2, EventName = "Stopped", Level = LogLevel.Information,
        Message = "DNS {Node} stopped listening on {Address}")]
    public static partial void Stopped(ILogger logger, string node, IPEndPoint address);

    // Debug: a malformed packet from anyone on the network must not be able to fill the log.
    [LoggerMessage(EventId = 3, EventName = "QueryFailed", Level = LogLevel.Debug,
        Message = "DNS {Node} could not answer a query")]
    public static partial void QueryFailed(ILogger logger, string node, Exception exception);

    [LoggerMessage(EventId = 4, EventName = "RateLimitingStarted", Level = LogLevel.Warning,
        Message = "DNS {Node} rate limiting {Network} started: more than {Rate} responses per second over UDP")]
    public static partial void RateLimitingStarted(ILogger logger, string node, IPNetwork network, int rate);

    [LoggerMessage(EventId = 5, EventName = "RateLimitingManyNetworks", Level = LogLevel.Warning,
        Message = "DNS {Node} rate limiting more than {Count} networks within {Window} s; the others are not logged until then")]
    public static partial void RateLimitingManyNetworks(ILogger logger, string node, int count, int window);
}
