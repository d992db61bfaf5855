using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;

namespace Strata.Proxy.Forwarding;

/// <summary>
/// Logs refused requests (<see cref="RequestScreen"/>) at most once per client address per <see cref="Interval"/>,
/// so a client sending bad requests in a loop cannot flood the log; how many were refused is in
/// <c>strata_responses_total{code="4xx"}</c>.
/// </summary>
/// <remarks>
/// The table of recent clients is bounded (<see cref="MaxClients"/>): when it is full, entries older than the interval
/// are dropped, and if every entry is recent, new clients are not logged until some expire. A flood of distinct
/// addresses therefore costs at most this many entries and this many lines per interval.
/// </remarks>
internal sealed partial class RefusalLog(TimeProvider time, ILogger logger)
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(60);

    public const int MaxClients = 1024;

    private readonly ConcurrentDictionary<IPAddress, long> _lastLogged = new();

    /// <summary>Logs the refusal unless this client's was logged less than <see cref="Interval"/> ago.</summary>
    public void Refused(IPAddress? client, string method, RequestScreen.Refusal refusal)
    {
        var key = client ?? IPAddress.None;
        var now = time.GetTimestamp();
        if (_lastLogged.TryGetValue(key, out var last) && time.GetElapsedTime(last, now) < Interval)
        {
            return;
        }

        if (_lastLogged.Count >= MaxClients && !_lastLogged.ContainsKey(key))
        {
            foreach (var (address, logged) in _lastLogged)
            {
                if (time.GetElapsedTime(logged, now) >= Interval)
                {
                    _lastLogged.TryRemove(address, out _);
                }
            }

            if (_lastLogged.Count >= MaxClients)
            {
                return;
            }
        }

        _lastLogged[key] = now;
        LogRefused(client?.ToString() ?? "unknown", method, refusal.Status, refusal.Detail, (int)Interval.TotalSeconds);
    }

    [LoggerMessage(EventId = 11, Level = LogLevel.Information,
        Message = "Refused a {Method} request from {Client} with {Status}: {Detail} (the client's fault, no server was tried; more from this client are not logged for {Seconds} s)")]
    private partial void LogRefused(string client, string method, int status, string detail, int seconds);
}
