using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Strata.Hosting.Telemetry;
using Strata.Topology;

namespace Strata.Proxy.Forwarding;

/// <summary>
/// What every Strata proxy adds to what it forwards, shared by both forwarding paths (YARP's and
/// Strata's own HTTP/1.1 exchange):
/// <list type="bullet">
/// <item>its name appended to <c>Via</c> in both directions (RFC 9110 §7.6.3);</item>
/// <item>X-Forwarded-For/-Proto/-Host: from a trusted peer (a proxy in front, <see cref="Topology.Topology.ProxiesInFront"/>)
/// kept, the peer's address appended to X-Forwarded-For; from any other peer set from the real connection;</item>
/// <item>the other headers that tell an application the client's address or how it came in
/// (<see cref="EdgeHeaders.ClientAddress"/>): kept from a trusted peer, removed from any other;</item>
/// <item>the persistence cookie, when the backend has one and the client does not carry the right value;</item>
/// <item>W3C trace context (<c>traceparent</c>, <c>tracestate</c>): while the node traces, the current span's in place of
/// the client's (<see cref="TraceContextHeaders"/>); otherwise the client's as they came.</item>
/// </list>
/// </summary>
/// <remarks>
/// Every proxy applies the same rule, so a client that skips a tier (talks to a web node straight) is treated as one
/// at the load balancers: what reaches the application is either what the proxies in front wrote or the connection's.
/// </remarks>
internal sealed class ProxyHeaders(string proxyName, TrustedPeers trustedPeers)
{
    public const string ForwardedFor = "X-Forwarded-For";
    public const string ForwardedProto = "X-Forwarded-Proto";
    public const string ForwardedHost = "X-Forwarded-Host";

    // Every header name the policy treats specially; any other is end to end. One table for every writer, whether it
    // reads names as strings (Kestrel's dictionaries) or as bytes (the connection path's head).
    private static readonly (string Name, HeaderKind Kind)[] Table =
    [
        // Hop-by-hop (RFC 9110 §7.6.1): never forwarded.
        ("Connection", HeaderKind.HopByHop), ("Keep-Alive", HeaderKind.HopByHop), ("Proxy-Connection", HeaderKind.HopByHop),
        ("TE", HeaderKind.HopByHop), ("Trailer", HeaderKind.HopByHop), ("Transfer-Encoding", HeaderKind.HopByHop), ("Upgrade", HeaderKind.HopByHop),
        // Written by the proxy itself.
        ("Host", HeaderKind.Host), ("Via", HeaderKind.Via), (ForwardedFor, HeaderKind.ForwardedFor),
        // Replaced unless the peer is trusted.
        (ForwardedProto, HeaderKind.ForwardedProto), (ForwardedHost, HeaderKind.ForwardedHost),
        .. EdgeHeaders.ClientAddress.Select(name => (name, HeaderKind.ClientAddress)),
        // Replaced by the current span's while the node traces.
        (TraceContextHeaders.TraceParent, HeaderKind.TraceParent), (TraceContextHeaders.TraceState, HeaderKind.TraceState),
    ];

    private readonly string _via = $"1.1 {proxyName}";
    private readonly byte[] _viaBytes = System.Text.Encoding.ASCII.GetBytes($"1.1 {proxyName}");

    // The last peer's address as text: clients keep their address for many requests, so most requests skip the
    // formatting (one allocation per request otherwise). Racy by design: a stale entry is simply not used.
    private PeerText? _lastPeer;

    /// <summary>This proxy's Via entry, <c>1.1 NAME</c>, as bytes.</summary>
    public ReadOnlySpan<byte> Via => _viaBytes;

    /// <summary>The Via value to send on: the client's, then this proxy.</summary>
    public string RequestVia(HttpRequest request) => Append(request.Headers.Via, _via);

    /// <summary>
    /// The X-Forwarded-For value to send on; <paramref name="keepClientValues"/> says whether the client's own
    /// X-Forwarded-* may be kept (only from a trusted peer).
    /// </summary>
    public string ForwardedForValue(HttpContext context, out bool keepClientValues)
    {
        var peer = context.Connection.RemoteIpAddress;
        var peerText = PeerAsText(peer);
        keepClientValues = KeepsClientValues(peer);
        return keepClientValues ? Append(context.Request.Headers[ForwardedFor], peerText) : peerText;
    }

    /// <summary>
    /// The client a rate limit counts: the one <paramref name="forwardedFor"/> names when <paramref name="peer"/> is a
    /// trusted proxy (read as every tier reads it: <see cref="TrustedPeers.Client"/>), else the peer.
    /// </summary>
    public IPAddress? LimitedClient(IPAddress? peer, string? forwardedFor) =>
        IPAddress.TryParse(trustedPeers.Client(peer, forwardedFor), out var client) ? client : peer;

    /// <summary>Whether the client's own X-Forwarded-* and client-address headers may be kept: only from a trusted peer.</summary>
    public bool KeepsClientValues(IPAddress? peer) => trustedPeers.Contains(peer);

    /// <summary>The Via value to send back to the client: the server's, then this proxy.</summary>
    public string ResponseVia(StringValues serverVia) => Append(serverVia, _via);

    /// <summary>The peer's address as text ("unknown" without one), as X-Forwarded-For carries it.</summary>
    public string PeerAsText(IPAddress? peer)
    {
        if (peer is null)
        {
            return "unknown";
        }

        var last = _lastPeer;
        if (last is not null && last.Address.Equals(peer))
        {
            return last.Text;
        }

        var text = peer.ToString();
        _lastPeer = new PeerText(peer, text);
        return text;
    }

    /// <summary>How the policy treats a header named <paramref name="name"/>.</summary>
    public static HeaderKind Classify(ReadOnlySpan<char> name)
    {
        foreach (var (known, kind) in Table)
        {
            if (known.Length == name.Length && name.Equals(known, StringComparison.OrdinalIgnoreCase))
            {
                return kind;
            }
        }

        return HeaderKind.EndToEnd;
    }

    /// <inheritdoc cref="Classify(ReadOnlySpan{char})"/>
    public static HeaderKind Classify(ReadOnlySpan<byte> name)
    {
        foreach (var (known, kind) in Table)
        {
            if (known.Length == name.Length && System.Text.Ascii.EqualsIgnoreCase(name, known))
            {
                return kind;
            }
        }

        return HeaderKind.EndToEnd;
    }

    /// <summary>
    /// Whether a client's header of <paramref name="kind"/> is left out of what is sent on, as it is or at all: hop-by-hop
    /// always; X-Forwarded-Proto/-Host and the client-address headers when <paramref name="replaceForwarded"/> (from a
    /// peer that is not trusted). Host, Via and X-Forwarded-For each writer writes itself.
    /// </summary>
    public static bool IsDropped(HeaderKind kind, bool replaceForwarded) => kind switch
    {
        HeaderKind.HopByHop => true,
        HeaderKind.ForwardedProto or HeaderKind.ForwardedHost or HeaderKind.ClientAddress => replaceForwarded,
        _ => false,
    };

    /// <summary>Whether a client's header of <paramref name="kind"/> gives way to <paramref name="span"/>'s trace context (while the node traces).</summary>
    public static bool IsReplacedTraceContext(HeaderKind kind, System.Diagnostics.Activity? span) =>
        span is not null && kind is (HeaderKind.TraceParent or HeaderKind.TraceState);

    private static string Append(StringValues existing, string value) =>
        StringValues.IsNullOrEmpty(existing) ? value : $"{existing}, {value}";

    private sealed record PeerText(IPAddress Address, string Text);
}

/// <summary>How the forwarded-header policy treats a request header (<see cref="ProxyHeaders.Classify(ReadOnlySpan{char})"/>).</summary>
internal enum HeaderKind
{
    /// <summary>Sent on as it came.</summary>
    EndToEnd,

    /// <summary>Never sent on.</summary>
    HopByHop,

    /// <summary>Host: written by each writer.</summary>
    Host,

    /// <summary>Via: the client's value, then this proxy.</summary>
    Via,

    /// <summary>X-Forwarded-For: the client's value when kept, then the peer.</summary>
    ForwardedFor,

    /// <summary>X-Forwarded-Proto: replaced unless the peer is trusted.</summary>
    ForwardedProto,

    /// <summary>X-Forwarded-Host: replaced unless the peer is trusted.</summary>
    ForwardedHost,

    /// <summary>One of <see cref="EdgeHeaders.ClientAddress"/>: removed unless the peer is trusted.</summary>
    ClientAddress,

    /// <summary>traceparent: replaced by the current span's while the node traces.</summary>
    TraceParent,

    /// <summary>tracestate: replaced by the current span's while the node traces.</summary>
    TraceState,
}
