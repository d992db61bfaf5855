using System.Text.Json.Serialization;

namespace Strata.Proxy.Stats;

/// <summary>What a forwarding node reports about its backend: the body of <c>/stats?format=json</c> and <c>GET /admin/servers</c>.</summary>
/// <param name="Node">The proxy's own name, e.g. lb-1.</param>
/// <param name="At">When the report was taken.</param>
/// <param name="Backends">Its pools: the tier behind it, then the named pools.</param>
/// <param name="Certificates">The certificates it serves TLS with (a load balancer with <c>vip.tls</c>), else null.</param>
/// <param name="RequestsPerSecond">Requests it answered through its pipeline per second over the last ten seconds (a web
/// node's own files are not among them: its load balancers count those, as requests to it).</param>
/// <param name="ServerErrorsPerSecond">Those of them it answered with a 5xx.</param>
public sealed record StatsReport(string Node, DateTimeOffset At, IReadOnlyList<BackendStats> Backends,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<CertificateStats>? Certificates,
    double RequestsPerSecond, double ServerErrorsPerSecond);

/// <summary>A certificate a node serves.</summary>
/// <param name="Names">The names it is served to (its subject alternative names).</param>
/// <param name="NotAfter">When it expires.</param>
/// <param name="ExpiresInDays">Days from the report to then; negative once expired.</param>
public sealed record CertificateStats(string Names, DateTimeOffset NotAfter, double ExpiresInDays);

/// <summary>What a node serves TLS with, for /stats (the load balancer's VIP certificates, read at each report).</summary>
public interface IServedCertificates
{
    /// <summary>Each certificate's names and expiry.</summary>
    IReadOnlyList<(string Names, DateTime NotAfter)> Certificates { get; }
}

/// <summary>One backend: the tier a proxy forwards to.</summary>
/// <param name="Name">The pool: the tier's (web, app) or a named pool.</param>
/// <param name="Algorithm">The balancing algorithm.</param>
/// <param name="QueueLength">Requests waiting for a server with room.</param>
/// <param name="Healthy">Servers whose checks pass.</param>
/// <param name="Servers">Every server, in topology order.</param>
public sealed record BackendStats(string Name, string Algorithm, int QueueLength, int Healthy, IReadOnlyList<ServerStats> Servers);

/// <summary>One server of a backend.</summary>
/// <param name="Name">Its node name.</param>
/// <param name="State">UP, DOWN, DRAIN or MAINT.</param>
/// <param name="Weight">Configured weight, 0-256.</param>
/// <param name="ActiveRequests">Requests in flight.</param>
/// <param name="TotalRequests">Requests sent to it since start.</param>
/// <param name="TotalFailures">Requests that failed on it.</param>
/// <param name="LastCheck">The last active check, or null before the first.</param>
/// <param name="RequestsPerSecond">Requests sent to it per second over the last ten seconds.</param>
/// <param name="FailuresPerSecond">Those that failed on it, per second over the same window.</param>
public sealed record ServerStats(string Name, string State, int Weight, int ActiveRequests, long TotalRequests, long TotalFailures, CheckStats? LastCheck,
    double RequestsPerSecond, double FailuresPerSecond);

/// <summary>The last active check of a server.</summary>
/// <param name="At">When it finished.</param>
/// <param name="Passed">Whether it passed.</param>
/// <param name="Detail">"passed", "HTTP 503", "connection refused"...</param>
/// <param name="AgeSeconds">Seconds since then, when the report was taken.</param>
public sealed record CheckStats(DateTimeOffset At, bool Passed, string Detail, double AgeSeconds);
