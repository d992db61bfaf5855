using System.Buffers;
using System.IO.Hashing;
using System.Text;
using Microsoft.AspNetCore.Http;
using Strata.Proxy.Upstreams;
using Strata.Topology;

namespace Strata.Proxy.Balancing;

/// <summary>
/// Consistent hashing on a ring with 100 points per unit of weight per server: a key goes to the first server
/// clockwise of its hash that may take it, so removing a server moves only its own keys. Hashes are XxHash3,
/// stable across processes, so both load balancers send a key to the same server.
/// </summary>
internal sealed class ConsistentHashBalancingPolicy(IReadOnlyList<Upstream> members, HashKind hashOn, string? header) : IBalancingPolicy
{
    private const int PointsPerWeight = 100;

    private Ring? _ring;

    public string Name => BalancingAlgorithms.Hash;

    public int Pick(HttpContext? context, ReadOnlySpan<Upstream> candidates, ReadOnlySpan<double> weights)
    {
        if (candidates.IsEmpty)
        {
            return -1;
        }

        var ring = CurrentRing();
        // Without a request (never the case with this policy: see IBalancingPolicy.Pick) every key is the same.
        var hash = context is null ? 0 : KeyHash(context);
        var start = ring.Points.AsSpan().BinarySearch(hash);
        if (start < 0)
        {
            start = ~start;
        }

        for (var n = 0; n < ring.Points.Length; n++)
        {
            var owner = ring.Owners[(start + n) % ring.Points.Length];
            for (var i = 0; i < candidates.Length; i++)
            {
                if (candidates[i].Index == owner)
                {
                    return i;
                }
            }
        }

        return -1;
    }

    private Ring CurrentRing()
    {
        // Rebuilt only when a weight changed at run time; a reader may see the old ring for one request.
        var ring = _ring;
        if (ring is not null && ring.Matches(members))
        {
            return ring;
        }

        ring = Ring.Build(members);
        _ring = ring;
        return ring;
    }

    private ulong KeyHash(HttpContext context)
    {
        switch (hashOn)
        {
            case HashKind.Source:
                Span<byte> address = stackalloc byte[16];
                return context.Connection.RemoteIpAddress is { } ip && ip.TryWriteBytes(address, out var written)
                    ? XxHash3.HashToUInt64(address[..written])
                    : 0;
            case HashKind.Path:
                return HashString(context.Request.Path.Value ?? "/");
            default:
                return HashString(context.Request.Headers[header!].ToString());
        }
    }

    private static ulong HashString(string value)
    {
        var length = Encoding.UTF8.GetMaxByteCount(value.Length);
        var rented = length > 512 ? ArrayPool<byte>.Shared.Rent(length) : null;
        Span<byte> buffer = rented ?? stackalloc byte[512];
        try
        {
            return XxHash3.HashToUInt64(buffer[..Encoding.UTF8.GetBytes(value, buffer)]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private sealed class Ring(ulong[] points, int[] owners, int[] weights)
    {
        public ulong[] Points { get; } = points;

        public int[] Owners { get; } = owners;

        public bool Matches(IReadOnlyList<Upstream> members)
        {
            for (var i = 0; i < members.Count; i++)
            {
                if (members[i].Weight != weights[i])
                {
                    return false;
                }
            }

            return true;
        }

        public static Ring Build(IReadOnlyList<Upstream> members)
        {
            var points = new List<(ulong Hash, int Owner)>();
            var weights = new int[members.Count];
            foreach (var member in members)
            {
                weights[member.Index] = member.Weight;
                for (var p = 0; p < member.Weight * PointsPerWeight; p++)
                {
                    points.Add((HashString($"{member.Name}#{p}"), member.Index));
                }
            }

            points.Sort((a, b) => a.Hash.CompareTo(b.Hash));
            return new Ring([.. points.Select(p => p.Hash)], [.. points.Select(p => p.Owner)], weights);
        }
    }
}
