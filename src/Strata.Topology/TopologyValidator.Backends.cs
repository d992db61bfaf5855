using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Strata.Topology;

/// <summary>The checks of how a forwarding tier treats the tier behind it (the web and app sections' backend options), and the load balancers' trusted proxies.</summary>
internal sealed partial class TopologyValidator
{
    private BackendSpec Backend(BackendTierOptions? tier, string field)
    {
        var defaults = BackendSpec.Default;
        if (tier is null)
        {
            return defaults;
        }

        var (hashOn, hashHeader) = HashOn(tier.Balancing?.HashOn, $"{field}.balancing.hashOn");
        var algorithm = tier.Balancing?.Algorithm ?? defaults.Algorithm;
        if (!BalancingAlgorithms.All.Contains(algorithm, StringComparer.Ordinal))
        {
            Error($"{field}.balancing.algorithm", $"'{algorithm}' is not an algorithm; the algorithms are: {string.Join(", ", BalancingAlgorithms.All)}");
        }
        else if (tier.Balancing?.HashOn is not null && algorithm != BalancingAlgorithms.Hash)
        {
            Error($"{field}.balancing.hashOn", $"applies only to the '{BalancingAlgorithms.Hash}' algorithm");
        }

        var methods = defaults.RetryMethods;
        if (tier.Retries?.Methods is { } given)
        {
            methods = [.. given.Select(m => m.Trim().ToUpperInvariant())];
            foreach (var method in given.Where(m => !HttpTokenRegex().IsMatch(m.Trim())))
            {
                Error($"{field}.retries.methods", $"'{method}' is not an HTTP method");
            }
        }

        var retryOn = defaults.RetryOn;
        if (tier.Retries?.On is { } conditions)
        {
            retryOn = RetryConditions.None;
            if (conditions.Count == 0)
            {
                Error($"{field}.retries.on", "names no condition; to turn retries off set retries.count to 0");
            }

            foreach (var condition in conditions)
            {
                var known = RetryConditionNames.All.FirstOrDefault(c => string.Equals(c.Name, condition?.Trim(), StringComparison.OrdinalIgnoreCase));
                if (known.Name is null)
                {
                    Error($"{field}.retries.on", $"'{condition}' is not a retry condition; the conditions are: {string.Join(", ", RetryConditionNames.All.Select(c => c.Name))}");
                }

                retryOn |= known.Condition;
            }
        }

        var cookie = tier.Persistence?.Cookie;
        if (tier.Persistence is not null && (string.IsNullOrWhiteSpace(cookie) || !HttpTokenRegex().IsMatch(cookie)))
        {
            Error($"{field}.persistence.cookie", cookie is null ? "is required (e.g. \"SERVERID\")" : $"'{cookie}' is not a valid cookie name");
        }

        var timeouts = tier.Timeouts;
        var limits = tier.Limits;
        return new BackendSpec
        {
            HealthCheck = HealthCheck(tier.HealthCheck, $"{field}.healthCheck"),
            Algorithm = algorithm,
            HashOn = hashOn,
            HashHeader = hashHeader,
            PassiveFailures = InRange(tier.PassiveHealth?.ConsecutiveFailures ?? defaults.PassiveFailures, $"{field}.passiveHealth.consecutiveFailures", 0, 100),
            Retries = InRange(tier.Retries?.Count ?? defaults.Retries, $"{field}.retries.count", 0, 10),
            RetryMethods = methods,
            RetryOn = retryOn,
            SlowStart = Milliseconds(tier.SlowStartMs, defaults.SlowStart, $"{field}.slowStartMs", min: 0),
            MaxRequestsPerServer = InRange(limits?.MaxRequestsPerServer ?? defaults.MaxRequestsPerServer, $"{field}.limits.maxRequestsPerServer", 0, 1_000_000),
            MaxQueue = InRange(limits?.MaxQueue ?? defaults.MaxQueue, $"{field}.limits.maxQueue", 0, 1_000_000),
            QueueTimeout = Milliseconds(limits?.QueueTimeoutMs, defaults.QueueTimeout, $"{field}.limits.queueTimeoutMs"),
            ConnectTimeout = Milliseconds(timeouts?.ConnectMs, defaults.ConnectTimeout, $"{field}.timeouts.connectMs"),
            ServerTimeout = Milliseconds(timeouts?.ServerMs, defaults.ServerTimeout, $"{field}.timeouts.serverMs"),
            ClientTimeout = Milliseconds(timeouts?.ClientMs, defaults.ClientTimeout, $"{field}.timeouts.clientMs"),
            PersistenceCookie = cookie,
        };
    }

    private (HashKind Kind, string? Header) HashOn(string? value, string field)
    {
        switch (value)
        {
            case null or "source":
                return (HashKind.Source, null);
            case "path":
                return (HashKind.Path, null);
            case not null when value.StartsWith("header:", StringComparison.Ordinal) && HttpTokenRegex().IsMatch(value["header:".Length..]):
                return (HashKind.Header, value["header:".Length..]);
            default:
                Error(field, $"'{value}' is not one of: source, path, header:NAME");
                return (HashKind.Source, null);
        }
    }

    private HealthCheckSpec HealthCheck(HealthCheckOptions? check, string field)
    {
        var defaults = HealthCheckSpec.Default;
        check ??= new HealthCheckOptions();
        var path = check.Path ?? defaults.Path;
        if (!path.StartsWith('/'))
        {
            Error($"{field}.path", $"'{path}' must start with '/'");
        }

        var interval = Milliseconds(check.IntervalMs, defaults.Interval, $"{field}.intervalMs");
        return new HealthCheckSpec(
            path,
            interval,
            Milliseconds(check.FastIntervalMs, defaults.FastInterval, $"{field}.fastIntervalMs"),
            Milliseconds(check.TimeoutMs, interval, $"{field}.timeoutMs"),
            InRange(check.Fall ?? defaults.Fall, $"{field}.fall", 1, 100),
            InRange(check.Rise ?? defaults.Rise, $"{field}.rise", 1, 100));
    }

    /// <summary>loadBalancers.requestLog: its format, and its path made absolute against the topology file; null when off.</summary>
    private LogFileSpec? RequestLog(AccessLogOptions? options)
    {
        var format = options?.Format ?? LogFileSpec.HttpLog;
        if (format is not (LogFileSpec.HttpLog or LogFileSpec.Json or "off"))
        {
            Error("loadBalancers.requestLog.format", $"'{format}' is not a format; the formats are: {LogFileSpec.HttpLog}, {LogFileSpec.Json}, off");
            return null;
        }

        return format == "off" ? null : new LogFileSpec(Path.GetFullPath(Path.Combine(_baseDirectory, options?.Path ?? LogFileSpec.DefaultRequestLogPath)), format);
    }

    private ImmutableArray<IPNetwork> TrustedProxies(IReadOnlyList<string>? given) => Networks(given, "loadBalancers.trustedProxies", allowAll: false);

    /// <summary>Addresses and CIDR ranges; with <paramref name="allowAll"/>, "all" for every IPv4 and IPv6 address.</summary>
    private ImmutableArray<IPNetwork> Networks(IReadOnlyList<string>? given, string field, bool allowAll)
    {
        var networks = ImmutableArray.CreateBuilder<IPNetwork>();
        for (var i = 0; i < (given?.Count ?? 0); i++)
        {
            var text = given![i]?.Trim() ?? "";
            if (allowAll && text == "all")
            {
                networks.Add(IPNetwork.Parse("0.0.0.0/0"));
                networks.Add(IPNetwork.Parse("::/0"));
            }
            else if (IPNetwork.TryParse(text, out var network))
            {
                networks.Add(network);
            }
            else if (IPAddress.TryParse(text, out var address))
            {
                networks.Add(new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128));
            }
            else
            {
                Error($"{field}[{i}]", $"'{text}' is neither an IP address nor a CIDR range{(allowAll ? " nor \"all\"" : "")}");
            }
        }

        return networks.ToImmutable();
    }
}
