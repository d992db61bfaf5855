using System.Buffers.Binary;
using System.Net;
using Microsoft.Extensions.Time.Testing;
using Strata.Cluster.Vrrp;

namespace Strata.Tests.Cluster.Vrrp;

/// <summary>
/// A VRRP router under test: the state machine plus a record of what it asked its host to do. When attached
/// to a <see cref="VrrpTestWire"/>, what it sends goes on the wire as a full IPv4 packet.
/// </summary>
internal sealed class VrrpTestNode : IVrrpOutputs
{
    private readonly FakeTimeProvider _time;
    private readonly DateTimeOffset _created;

    public VrrpTestNode(string name, VrrpOptions options, FakeTimeProvider time, VrrpTestWire? wire = null)
    {
        Name = name;
        Options = options;
        _time = time;
        _created = time.GetUtcNow();
        Wire = wire;
        Machine = new VrrpStateMachine(options, this, time);
    }

    public string Name { get; }

    public VrrpOptions Options { get; }

    public VrrpStateMachine Machine { get; }

    public VrrpTestWire? Wire { get; }

    /// <summary>False after a SIGKILL-like <see cref="VrrpTestWire.Kill"/>: no timers, nothing sent or heard.</summary>
    public bool Connected { get; set; } = true;

    /// <summary>Each advert sent: its priority and when, relative to this node's creation.</summary>
    public List<(byte Priority, TimeSpan At)> Sent { get; } = [];

    /// <summary>Each reported change, "Master: reason", "Backup: reason", "Stopped: reason".</summary>
    public List<string> Transitions { get; } = [];

    public VrrpState State => Machine.State;

    public void SendAdvertisement(byte priority)
    {
        Sent.Add((priority, _time.GetUtcNow() - _created));
        if (Wire is not null && Connected)
        {
            var payload = Machine.CreateAdvertisement(priority).ToBytes(Options.PrimaryAddress);
            Wire.Enqueue(this, VrrpPackets.Ipv4Packet(Options.PrimaryAddress, VrrpAdvertisement.MulticastGroup, payload));
        }
    }

    public void BecameMaster(string reason) => Transitions.Add("Master: " + reason);

    public void BecameBackup(string reason) => Transitions.Add("Backup: " + reason);

    public void Stopped(string reason) => Transitions.Add("Stopped: " + reason);

    public void CompetingMaster(string reason) => Transitions.Add("Competing: " + reason);

    /// <summary>Moves time forward, firing this node's timers at their exact deadlines.</summary>
    public void Advance(TimeSpan duration)
    {
        var remaining = duration;
        while (Machine.NextTimeout is { } next && next <= remaining)
        {
            _time.Advance(next);
            remaining -= next;
            Machine.OnTimer();
        }

        _time.Advance(remaining);
        Machine.OnTimer();
    }

    /// <summary>Hands the machine an advert as if a peer at <paramref name="source"/> had sent it.</summary>
    public void Hear(IPAddress source, byte priority, int intervalCentiseconds = 10, byte virtualRouterId = 51) =>
        Machine.OnAdvertisement(new VrrpAdvertisement(virtualRouterId, priority, intervalCentiseconds, [VrrpPackets.Vip]), source);
}

/// <summary>
/// A shared link between test routers with zero delay: every advert one node sends is parsed from its bytes
/// (IP header, TTL, checksum) by every other connected node at the same virtual instant. Time moves only
/// through <see cref="RunFor"/>, which steps a <see cref="FakeTimeProvider"/> from deadline to deadline, so
/// runs are exact and repeatable; no socket is opened.
/// </summary>
internal sealed class VrrpTestWire
{
    private readonly Queue<(VrrpTestNode From, byte[] Packet)> _inFlight = new();

    public FakeTimeProvider Time { get; } = new();

    public List<VrrpTestNode> Nodes { get; } = [];

    /// <summary>Adverts a node dropped while parsing, with the reason; should stay empty.</summary>
    public List<string> Dropped { get; } = [];

    public VrrpTestNode Add(string name, VrrpOptions options)
    {
        var node = new VrrpTestNode(name, options, Time, this);
        Nodes.Add(node);
        return node;
    }

    public IEnumerable<VrrpTestNode> Masters => Nodes.Where(n => n.Connected && n.State == VrrpState.Master);

    public void Enqueue(VrrpTestNode from, byte[] packet) => _inFlight.Enqueue((from, packet));

    /// <summary>SIGKILL: the node stops at once, sends nothing more (no priority 0) and hears nothing.</summary>
    public void Kill(VrrpTestNode node) => node.Connected = false;

    public void RunFor(TimeSpan duration)
    {
        var end = Time.GetUtcNow() + duration;
        Deliver();
        while (true)
        {
            var next = Nodes.Where(n => n.Connected).Select(n => n.Machine.NextTimeout).Where(t => t is not null).Min();
            if (next is not { } step || Time.GetUtcNow() + step > end)
            {
                break;
            }

            Time.Advance(step);
            foreach (var node in Nodes.Where(n => n.Connected))
            {
                node.Machine.OnTimer();
            }

            Deliver();
        }

        Time.Advance(end - Time.GetUtcNow());
    }

    /// <summary>Delivers everything sent so far, including what the deliveries themselves cause.</summary>
    public void Deliver()
    {
        while (_inFlight.TryDequeue(out var item))
        {
            foreach (var node in Nodes.Where(n => n.Connected && n != item.From))
            {
                if (VrrpAdvertisement.TryParseIpPacket(item.Packet, out var advert, out var header, out var error))
                {
                    node.Machine.OnAdvertisement(advert, header.Source);
                }
                else
                {
                    Dropped.Add($"{node.Name} dropped from {item.From.Name}: {error}");
                }
            }
        }
    }
}

/// <summary>Packet helpers and addresses shared by the VRRP tests.</summary>
internal static class VrrpPackets
{
    public static readonly IPAddress Vip = IPAddress.Parse("10.0.0.100");

    /// <summary>A VRRP packet as a raw socket receives it: a 20-byte IPv4 header (plus options) in front.</summary>
    public static byte[] Ipv4Packet(IPAddress source, IPAddress destination, byte[] payload, byte ttl = 255,
        byte protocol = 112, int optionBytes = 0)
    {
        var headerLength = 20 + optionBytes;
        var packet = new byte[headerLength + payload.Length];
        packet[0] = (byte)(0x40 | (headerLength / 4));
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)packet.Length);
        packet[8] = ttl;
        packet[9] = protocol;
        source.TryWriteBytes(packet.AsSpan(12, 4), out _);
        destination.TryWriteBytes(packet.AsSpan(16, 4), out _);
        payload.CopyTo(packet, headerLength);
        return packet;
    }

    /// <summary>
    /// The VRRP checksum the plain way, independent of the code under test: lay the IPv4 pseudo-header and the
    /// message (checksum field zeroed) end to end, add them as big-endian 16-bit words, fold the carries,
    /// complement (RFC 1071; RFC 5798 §5.2.8).
    /// </summary>
    public static ushort ReferenceChecksum(IPAddress source, IPAddress destination, byte[] vrrp)
    {
        var all = new List<byte>();
        all.AddRange(source.GetAddressBytes());
        all.AddRange(destination.GetAddressBytes());
        all.Add(0);
        all.Add(112);
        all.Add((byte)(vrrp.Length >> 8));
        all.Add((byte)vrrp.Length);
        var message = (byte[])vrrp.Clone();
        message[6] = 0;
        message[7] = 0;
        all.AddRange(message);
        if (all.Count % 2 == 1)
        {
            all.Add(0);
        }

        long sum = 0;
        for (var i = 0; i < all.Count; i += 2)
        {
            sum += (all[i] << 8) | all[i + 1];
        }

        while ((sum >> 16) != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)(~sum & 0xFFFF);
    }
}
