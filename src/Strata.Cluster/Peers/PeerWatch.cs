using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Strata.Cluster.Peers;

/// <summary>
/// Notices a peer's death faster than the VRRP timers where the operating system can tell: every node listens on
/// TCP at its cluster address and keeps one connection open to each peer's. When a peer's process dies, its kernel
/// closes that connection at once and the read here ends, well before three advertisement intervals have passed.
/// A host that vanishes closes nothing; the timers remain the fallback for that.
/// </summary>
public sealed partial class PeerWatch : IAsyncDisposable
{
    private static readonly TimeSpan ReconnectDelay = TimeSpan.FromMilliseconds(100);

    private readonly IPEndPoint _local;
    private readonly IReadOnlyList<IPEndPoint> _peers;
    private readonly Action<IPAddress> _peerLost;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private Socket? _listener;

    /// <summary>Watches <paramref name="peers"/> from <paramref name="local"/>; <paramref name="peerLost"/> gets a peer's address when its connection closes.</summary>
    public PeerWatch(IPEndPoint local, IReadOnlyList<IPEndPoint> peers, Action<IPAddress> peerLost, ILogger logger)
    {
        _local = local;
        _peers = peers;
        _peerLost = peerLost;
        _logger = logger;
    }

    /// <summary>Starts listening and connecting; returns at once.</summary>
    public void Start()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(_local);
        listener.Listen();
        _listener = listener;
        _loops.Add(AcceptLoopAsync(listener, _stop.Token));
        foreach (var peer in _peers)
        {
            _loops.Add(WatchLoopAsync(peer, _stop.Token));
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener?.Dispose();
        try
        {
            await Task.WhenAll(_loops);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    /// <summary>Accepts peers' connections and holds them open; this side only has to exist.</summary>
    private static async Task AcceptLoopAsync(Socket listener, CancellationToken stop)
    {
        var accepted = new List<Socket>();
        try
        {
            while (!stop.IsCancellationRequested)
            {
                accepted.Add(await listener.AcceptAsync(stop));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            foreach (var socket in accepted)
            {
                socket.Dispose();
            }
        }
    }

    /// <summary>Connects to a peer and waits for the connection to close; reconnects while the peer is away.</summary>
    private async Task WatchLoopAsync(IPEndPoint peer, CancellationToken stop)
    {
        var buffer = new byte[16];
        while (!stop.IsCancellationRequested)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                // From our own address, so the peer sees which node it is.
                socket.Bind(new IPEndPoint(_local.Address, 0));
                await socket.ConnectAsync(peer, stop);
                while (await socket.ReceiveAsync(buffer, SocketFlags.None, stop) > 0)
                {
                }

                LogPeerLost(peer);
                _peerLost(peer.Address);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException ex) when (socket.Connected || ex.SocketErrorCode is SocketError.ConnectionReset)
            {
                LogPeerLost(peer);
                _peerLost(peer.Address);
            }
            catch (SocketException)
            {
                // Not there (yet): try again shortly.
            }

            try
            {
                await Task.Delay(ReconnectDelay, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(EventId = 30, Level = LogLevel.Information, Message = "peer {Peer} closed its cluster connection: its process ended")]
    private partial void LogPeerLost(IPEndPoint peer);
}
