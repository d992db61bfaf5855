using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Net.Http.Json;
using Strata.Data.Managed;
using Strata.Topology;

namespace Strata.Data.Connections;

/// <summary>
/// Which database node is the primary, as the app nodes see it: every half second (and at once when a connection to
/// the one it named fails) it asks each database node's management address for <c>GET /db/state</c>, and the primary
/// is the one node that says it holds the primary's lease (docs/database.md, "Who is primary"). Asking the nodes, not
/// the servers (<c>@@read_only</c>), is what keeps an old primary that lost the lease from being chosen in the moment
/// before its node fences it. One per database and process, shared by every store of an app node.
/// </summary>
internal sealed class PrimaryLocator : IDisposable
{
    /// <summary>How often the nodes are asked while nothing fails.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);

    private static readonly ConcurrentDictionary<string, PrimaryLocator> Shared = new(StringComparer.Ordinal);

    private readonly ImmutableArray<NodeSpec> _nodes;
    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromSeconds(30) })
    {
        Timeout = TimeSpan.FromSeconds(1),
    };

    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _wake = new(0, 1);
    private volatile TaskCompletionSource<NodeSpec> _found = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile NodeSpec? _primary;
    private volatile IReadOnlyList<NodeSpec> _readable = [];

    private PrimaryLocator(ImmutableArray<NodeSpec> nodes)
    {
        _nodes = nodes;
        _ = Task.Run(LoopAsync);
    }

    /// <summary>The locator of <paramref name="database"/>'s nodes in this process.</summary>
    public static PrimaryLocator For(DatabaseSpec database) => Shared.GetOrAdd(database.Path, _ => new PrimaryLocator(database.Nodes));

    /// <summary>The primary, or null while none is known.</summary>
    public NodeSpec? Primary => _primary;

    /// <summary>The nodes that answered as primary or replica in the last round: where a read can go while there is no primary.</summary>
    public IReadOnlyList<NodeSpec> Readable => _readable;

    /// <summary>The primary, waiting up to <paramref name="timeout"/> for one to be known.</summary>
    /// <exception cref="NoPrimaryException">None became known in time.</exception>
    public async Task<NodeSpec> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_primary is { } primary)
        {
            return primary;
        }

        try
        {
            return await _found.Task.WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new NoPrimaryException($"no database node is primary (asked {string.Join(", ", _nodes.Select(n => n.Name))} for {timeout.TotalSeconds:0.#} s)");
        }
    }

    /// <summary>A connection to the primary failed: ask the nodes again now rather than at the next interval.</summary>
    public void Suspect(NodeSpec node)
    {
        if (_primary == node)
        {
            Set(null);
        }

        if (_wake.CurrentCount == 0)
        {
            try
            {
                _wake.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already woken.
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _client.Dispose();
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var states = await Task.WhenAll(_nodes.Select(AskAsync));
            var primaries = states.Where(s => s is { Role: Roles.Primary }).ToList();
            _readable = [.. _nodes.Where((n, i) => states[i] is { Role: Roles.Primary or Roles.Replica })];
            // Two nodes saying so can only be the instant around a takeover: wait for the next round rather than guess.
            Set(primaries.Count == 1 ? _nodes.First(n => n.Name == primaries[0]!.Node) : null);
            try
            {
                await _wake.WaitAsync(_primary is null ? Interval / 5 : Interval, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void Set(NodeSpec? primary)
    {
        lock (_gate)
        {
            if (_primary == primary)
            {
                return;
            }

            _primary = primary;
            if (primary is not null)
            {
                _found.TrySetResult(primary);
            }
            else if (_found.Task.IsCompleted)
            {
                _found = new TaskCompletionSource<NodeSpec>(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    private async Task<DatabaseState?> AskAsync(NodeSpec node)
    {
        try
        {
            return await _client.GetFromJsonAsync<DatabaseState>(new Uri($"http://{node.Management}{DatabaseState.Path}"), _stop.Token);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
        {
            return null;
        }
    }
}

/// <summary>No database node is primary (a failover under way, or no majority): a request needing the database gets 503.</summary>
public sealed class NoPrimaryException(string message) : System.Data.Common.DbException(message);
