using System.Diagnostics;
using System.Net.Http.Headers;
using System.Runtime;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Strata.Topology;

namespace Strata.Hosting.WarmUp;

/// <summary>
/// Before a node says ready, it sends itself a few requests through its own way in, so that the code its
/// clients' requests run is compiled before the first client waits for it (a node's first request compiled ~100
/// methods, 70–110 ms, and its first loaded second had a p99 9× its steady one: docs/benchmarks.md). nginx and HAProxy
/// have nothing to compile; this is the .NET node's way to be at full speed when it joins a pool or takes the VIP.
/// </summary>
/// <remarks>
/// <para>Runs once Kestrel listens (<see cref="StartedAsync"/>), in the background; <c>/readyz</c> fails ("warming up")
/// until it is done, so no load balancer sends the node clients before. A failure (the node cannot reach its own
/// address) is said once and does not hold readiness back.</para>
/// <para>Its requests carry a user agent with a secret drawn at start; a web node's access log and request metrics
/// leave out what <see cref="IsOwn(ReadOnlySpan{byte})"/> recognises, formatting its line and recording it in series
/// nothing exports instead, so that code is compiled too (a load balancer's go to a server of their own, whose request
/// log goes to /dev/null), and recognise nothing once the warm-up is over (one field read per request after that). A
/// client cannot hide its requests by copying the user agent without the secret, which never leaves the process.</para>
/// </remarks>
public sealed class NodeWarmUp : IHostedLifecycleService, IReadinessCheck
{
    /// <summary>
    /// Requests on one kept-alive connection, through the paths twice: once plain, once accepting gzip (a browser's
    /// request, which takes another way through a web node); the first of each compiles, the rest run it once more.
    /// </summary>
    private const int KeptAliveRounds = 4;

    /// <summary>Connections opened and closed (one request each, <c>Connection: close</c>): accept and close paths.</summary>
    private const int ClosedConnections = 4;

    /// <summary>Connections at once, one request each: the first load's many new connections (their buffers and pools) before a client's.</summary>
    private const int ParallelConnections = 64;

    /// <summary>Kept-alive connections of the last part, which goes on until the JIT is quiet (<see cref="UntilCompiledAsync"/>).</summary>
    private const int SettleConnections = 8;

    /// <summary>How long the whole warm-up may take before the node says ready anyway.</summary>
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    /// <summary>How long the last part may take: past it, the node is ready with what is compiled by then.</summary>
    private static readonly TimeSpan SettleLimit = TimeSpan.FromSeconds(5);

    /// <summary>The last part ends after a window of this length in which the JIT compiled <see cref="SettleMethods"/> methods or fewer.</summary>
    private static readonly TimeSpan SettleWindow = TimeSpan.FromMilliseconds(250);

    private const int SettleMethods = 3;

    private readonly Func<CancellationToken, Task<WarmUpTarget>> _target;
    private readonly ILogger _logger;
    private readonly string _userAgent;
    private readonly byte[] _userAgentBytes;
    private volatile bool _running = true;
    private string _detail = "warming up";

    /// <param name="target">Where the requests go, made ready once the node listens (a load balancer starts a server of its own for them).</param>
    /// <param name="logger">Where the outcome is said once.</param>
    public NodeWarmUp(Func<CancellationToken, Task<WarmUpTarget>> target, ILogger<NodeWarmUp> logger)
    {
        _target = target;
        _logger = logger;
        _userAgent = "strata-warm-up/" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        _userAgentBytes = Encoding.ASCII.GetBytes(_userAgent);
    }

    /// <summary>The check's name in /readyz.</summary>
    public string Name => "warm-up";

    /// <summary>Whether a request with <paramref name="userAgent"/> is one of the warm-up's own (never, once it is over).</summary>
    public bool IsOwn(ReadOnlySpan<byte> userAgent) => _running && userAgent.SequenceEqual(_userAgentBytes);

    /// <inheritdoc cref="IsOwn(ReadOnlySpan{byte})"/>
    /// <remarks>The header is looked up only while the warm-up runs.</remarks>
    public bool IsOwn(HttpRequest request) =>
        _running && string.Equals(request.Headers.UserAgent.ToString(), _userAgent, StringComparison.Ordinal);

    /// <summary>Whether the warm-up is over (done, or given up).</summary>
    public bool IsOver => !_running;

    public Task<ReadinessResult> CheckAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new ReadinessResult(!_running, _detail));

    public Task StartedAsync(CancellationToken cancellationToken)
    {
        _ = Task.Run(RunAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task RunAsync()
    {
        var started = Stopwatch.GetTimestamp();
        var compiled = JitInfo.GetCompiledMethodCount();
        var requests = 0;
        WarmUpTarget? target = null;
        try
        {
            using var timeout = new CancellationTokenSource(Limit);
            target = await _target(timeout.Token);
            using var handler = new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false };
            using var client = new HttpClient(handler) { BaseAddress = target.Address, Timeout = Limit };
            client.DefaultRequestHeaders.UserAgent.Add(ProductInfoHeaderValue.Parse(_userAgent));
            var paths = target.Paths;
            for (var round = 0; round < KeptAliveRounds; round++)
            {
                foreach (var path in paths)
                {
                    await SendAsync(client, path, close: false, gzip: round % 2 == 1, timeout.Token);
                    requests++;
                }
            }

            for (var i = 0; i < ClosedConnections; i++, requests++)
            {
                await SendAsync(client, paths[i % paths.Count], close: true, gzip: false, timeout.Token);
            }

            requests += await InParallelAsync(handler, target, timeout.Token);
            requests += await UntilCompiledAsync(handler, target, timeout.Token);
            _detail = $"{requests} requests to itself in {Stopwatch.GetElapsedTime(started).TotalMilliseconds:0} ms, {JitInfo.GetCompiledMethodCount() - compiled} methods compiled";
            _logger.LogInformation("Warmed up: {Detail}", _detail);
        }
        catch (Exception ex)
        {
            // Whatever stops it (the node's own address unreachable, a port taken, a server that does not start), the
            // node serves without the warm-up: said once, never a crash.
            _detail = $"warm-up stopped after {requests} requests: {ex.Message}";
            _logger.LogWarning("Warm-up stopped after {Requests} requests, ready without it: {Error}: {Reason}", requests, ex.GetType().Name, ex.Message);
        }
        finally
        {
            if (target?.Server is { } server)
            {
                await server.DisposeAsync();
            }

            _running = false;
        }
    }

    private async Task<int> InParallelAsync(SocketsHttpHandler handler, WarmUpTarget target, CancellationToken cancellationToken)
    {
        using var client = new HttpClient(handler, disposeHandler: false) { BaseAddress = target.Address, Timeout = Limit };
        client.DefaultRequestHeaders.UserAgent.Add(ProductInfoHeaderValue.Parse(_userAgent));
        await Task.WhenAll(Enumerable.Range(0, ParallelConnections).Select(i => SendAsync(client, target.Paths[i % target.Paths.Count], close: true, gzip: false, cancellationToken)));
        return ParallelConnections;
    }

    /// <summary>
    /// Requests on <see cref="SettleConnections"/> kept-alive connections until the JIT has (almost) stopped compiling.
    /// The runtime runs precompiled (ReadyToRun) code first and compiles a method again, optimized for what it sees,
    /// once it has been called 30 times (tiered compilation; the <c>strata</c> executable starts counting at once:
    /// <c>System.Runtime.TieredCompilation.CallCountingDelayMs</c> 0 in Strata.csproj). A hundred requests leave most
    /// of the hot path precompiled, and the first seconds of load did the rest on the core serving them: a p99 3× the
    /// steady one in the first second after a take-over (docs/benchmarks.md, "First seconds").
    /// </summary>
    private async Task<int> UntilCompiledAsync(SocketsHttpHandler handler, WarmUpTarget target, CancellationToken cancellationToken)
    {
        var done = false;
        var requests = 0;
        using var client = new HttpClient(handler, disposeHandler: false) { BaseAddress = target.Address, Timeout = Limit };
        client.DefaultRequestHeaders.UserAgent.Add(ProductInfoHeaderValue.Parse(_userAgent));
        var loops = new Task[SettleConnections];
        for (var i = 0; i < loops.Length; i++)
        {
            var first = i;
            loops[i] = Task.Run(async () =>
            {
                for (var n = first; !Volatile.Read(ref done); n++)
                {
                    await SendAsync(client, target.Paths[n % target.Paths.Count], close: false, gzip: n % 2 == 1, cancellationToken);
                    Interlocked.Increment(ref requests);
                }
            }, CancellationToken.None);
        }

        try
        {
            // Over once a window compiles no more than a few methods (rarely called ones keep reaching their count for a
            // while, one at a time), or at the limit.
            var began = Stopwatch.GetTimestamp();
            var compiled = JitInfo.GetCompiledMethodCount();
            while (Stopwatch.GetElapsedTime(began) < SettleLimit && !Array.Exists(loops, l => l.IsCompleted))
            {
                await Task.Delay(SettleWindow, cancellationToken);
                var now = JitInfo.GetCompiledMethodCount();
                if (now - compiled <= SettleMethods)
                {
                    break;
                }

                compiled = now;
            }
        }
        finally
        {
            Volatile.Write(ref done, true);
            await Task.WhenAll(loops);
        }

        return requests;
    }

    private static async Task SendAsync(HttpClient client, string path, bool close, bool gzip, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.ConnectionClose = close;
        if (gzip)
        {
            request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));
        }

        using var response = await client.SendAsync(request, cancellationToken);
        await response.Content.CopyToAsync(Stream.Null, cancellationToken);
    }
}

/// <summary>Where a warm-up's requests go.</summary>
/// <param name="Address">The base address, e.g. the node's own.</param>
/// <param name="Paths">The request targets, each an absolute path; answers of any status are fine.</param>
/// <param name="Server">A server started for the warm-up alone, stopped when it is over; null when the node serves them.</param>
public sealed record WarmUpTarget(Uri Address, IReadOnlyList<string> Paths, IAsyncDisposable? Server = null);

/// <summary>Adding a <see cref="NodeWarmUp"/> to a node.</summary>
public static class NodeWarmUpExtensions
{
    /// <summary>
    /// Has the node request <paramref name="paths"/> of itself once it listens, and hold /readyz back until then: at
    /// <paramref name="node"/>'s address, or the address its server bound when the topology gave port 0 (tests). Added
    /// by the <c>strata</c> command's nodes, not by nodes built inside another process (tests choose).
    /// </summary>
    public static IServiceCollection AddWarmUp(this IServiceCollection services, NodeSpec node, IReadOnlyList<string> paths) =>
        services.AddWarmUp((sp, _) =>
        {
            var address = node.Address.Port != 0
                ? $"http://{node.Address}"
                : sp.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
            return Task.FromResult(new WarmUpTarget(new Uri(address), paths));
        });

    /// <summary>Has the node send its warm-up requests to the target <paramref name="target"/> makes ready once the node listens.</summary>
    public static IServiceCollection AddWarmUp(this IServiceCollection services, Func<IServiceProvider, CancellationToken, Task<WarmUpTarget>> target)
    {
        services.AddSingleton(sp => new NodeWarmUp(ct => target(sp, ct), sp.GetRequiredService<ILogger<NodeWarmUp>>()));
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<NodeWarmUp>());
        services.AddSingleton<IReadinessCheck>(sp => sp.GetRequiredService<NodeWarmUp>());
        return services;
    }
}
