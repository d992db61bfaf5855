using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Strata.Topology;

/// <summary>The checks of the dns section: the DNS node, its zone and its rate limit.</summary>
internal sealed partial class TopologyValidator
{
    private NodeSpec? DnsNode(DnsOptions? dns)
    {
        if (dns is null)
        {
            Error("dns", "is required");
            return null;
        }

        var name = NodeName(dns.Name ?? "dns", "dns.name");
        var address = Endpoint(dns.Address, "dns.address", owner: name ?? "dns");
        var management = Endpoint(dns.Management, "dns.management", owner: $"{name ?? "dns"} management");
        return name is null || address is null || management is null
            ? null
            : new NodeSpec(name, NodeRole.Dns, address, management);
    }

    private DnsZoneSpec? Zone(DnsOptions? dns, IPEndPoint? vip)
    {
        if (dns is null)
        {
            return null;
        }

        var zone = dns.Zone?.Trim().TrimEnd('.').ToLowerInvariant();
        if (string.IsNullOrEmpty(zone))
        {
            Error("dns.zone", "is required (e.g. \"foobar.com\")");
            return null;
        }

        if (!DnsNameRegex().IsMatch(zone))
        {
            Error("dns.zone", $"'{dns.Zone}' is not a valid domain name");
            return null;
        }

        var ttl = dns.Ttl ?? 60;
        if (ttl is < 0 or > 604800)
        {
            Error("dns.ttl", $"{ttl} is out of range (0 to 604800 seconds)");
        }

        var records = ImmutableDictionary.CreateBuilder<string, IPAddress>(StringComparer.Ordinal);
        var given = dns.Records ?? new Dictionary<string, string> { ["@"] = "vip", ["www"] = "vip" };
        foreach (var (label, value) in given)
        {
            var field = $"dns.records.{label}";
            var relative = label.Trim().TrimEnd('.').ToLowerInvariant();
            var fqdn = relative == "@" ? zone : $"{relative}.{zone}";
            if (relative != "@" && !DnsNameRegex().IsMatch(fqdn))
            {
                Error(field, $"'{label}' is not a valid name inside {zone}");
                continue;
            }

            IPAddress? address;
            if (string.Equals(value, "vip", StringComparison.OrdinalIgnoreCase))
            {
                address = vip?.Address;
            }
            else if (!IPAddress.TryParse(value, out address) || address.AddressFamily != AddressFamily.InterNetwork)
            {
                Error(field, $"'{value}' is neither an IPv4 address nor \"vip\"");
                continue;
            }

            if (address is not null && !records.TryAdd(fqdn, address))
            {
                Error(field, $"{fqdn} is defined twice");
            }
        }

        return new DnsZoneSpec(zone, TimeSpan.FromSeconds(ttl), records.ToImmutable());
    }

    private DnsRateLimitSpec DnsRateLimit(DnsRateLimitOptions? limit)
    {
        var d = DnsRateLimitSpec.Default;
        if (limit is null)
        {
            return d;
        }

        const string Field = "dns.rateLimit";
        return new DnsRateLimitSpec
        {
            ResponsesPerSecond = InRange(limit.ResponsesPerSecond ?? d.ResponsesPerSecond, $"{Field}.responsesPerSecond", 0, 1000),
            Window = TimeSpan.FromSeconds(InRange(limit.Window ?? (int)d.Window.TotalSeconds, $"{Field}.window", 1, 3600)),
            Slip = InRange(limit.Slip ?? d.Slip, $"{Field}.slip", 0, 10),
            Ipv4PrefixLength = InRange(limit.Ipv4PrefixLength ?? d.Ipv4PrefixLength, $"{Field}.ipv4PrefixLength", 0, 32),
            Ipv6PrefixLength = InRange(limit.Ipv6PrefixLength ?? d.Ipv6PrefixLength, $"{Field}.ipv6PrefixLength", 0, 128),
            TableSize = InRange(limit.TableSize ?? d.TableSize, $"{Field}.tableSize", 64, 1_048_576),
        };
    }

    [GeneratedRegex(@"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")]
    private static partial Regex DnsNameRegex();
}
