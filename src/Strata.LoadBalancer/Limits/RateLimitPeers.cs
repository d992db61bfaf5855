using System.Buffers.Binary;
using System.Net;
using System.Text;
using Strata.Cluster.Peers;
using Strata.Proxy.Routing;

namespace Strata.LoadBalancer.Limits;

/// <summary>
/// The load balancers' rate-limit tables kept in step (HAProxy's <c>peers</c> for stick tables), so that a failover
/// does not hand a client over its limit a fresh budget: each node sends its peers the budgets of the clients that are
/// spending theirs, and each keeps the emptier of its own and a peer's (<see cref="RateLimitTables"/>).
/// </summary>
/// <remarks>
/// A message: a version byte (1), then entries until its end, each the limit's name (a length byte and UTF-8), the
/// client's address (a length byte, 4 or 16, and its bytes) and the budget left in milliseconds (4 bytes, big-endian).
/// Written by hand: a few fields, read and written in one place, between nodes of the same version.
/// </remarks>
internal sealed class RateLimitPeers(RateLimitTables tables) : IPeerExchange
{
    private const byte Version = 1;

    /// <summary>Entries per message at most: messages stay small (about 32 KiB).</summary>
    private const int EntriesPerMessage = 1024;

    public IReadOnlyList<byte[]> Changes() => Encode(all: false);

    public IReadOnlyList<byte[]> Everything() => Encode(all: true);

    public void Received(IPAddress peer, ReadOnlySpan<byte> message)
    {
        if (message.IsEmpty || message[0] != Version)
        {
            return;
        }

        var at = 1;
        while (at < message.Length)
        {
            var nameLength = message[at++];
            if (at + nameLength + 1 > message.Length)
            {
                return;
            }

            var name = Encoding.UTF8.GetString(message.Slice(at, nameLength));
            at += nameLength;
            var addressLength = message[at++];
            if (addressLength is not (4 or 16) || at + addressLength + 4 > message.Length)
            {
                return;
            }

            var address = new IPAddress(message.Slice(at, addressLength));
            at += addressLength;
            var milliseconds = BinaryPrimitives.ReadUInt32BigEndian(message[at..]);
            at += 4;
            tables.Merge(new RateLimitTables.Budget(name, address, milliseconds * TimeSpan.TicksPerMillisecond));
        }
    }

    private List<byte[]> Encode(bool all)
    {
        var budgets = new List<RateLimitTables.Budget>();
        tables.Collect(budgets, all);
        var messages = new List<byte[]>();
        Span<byte> number = stackalloc byte[16];
        for (var start = 0; start < budgets.Count; start += EntriesPerMessage)
        {
            var message = new List<byte> { Version };
            foreach (var budget in budgets.Skip(start).Take(EntriesPerMessage))
            {
                var name = Encoding.UTF8.GetBytes(budget.Limit);
                if (name.Length > byte.MaxValue)
                {
                    continue;
                }

                message.Add((byte)name.Length);
                message.AddRange(name);
                budget.Client.TryWriteBytes(number, out var addressLength);
                message.Add((byte)addressLength);
                message.AddRange(number[..addressLength]);
                BinaryPrimitives.WriteUInt32BigEndian(number, (uint)Math.Clamp(budget.Available / TimeSpan.TicksPerMillisecond, 0, uint.MaxValue));
                message.AddRange(number[..4]);
            }

            messages.Add([.. message]);
        }

        return messages;
    }
}
