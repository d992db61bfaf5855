using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Strata.Tests.Common;

namespace Strata.Tests.EndToEnd;

/// <summary>
/// The regression corpus of issues 15 and 18 against a running topology (<c>strata up --detach</c> on a copy of the
/// default one, with a short client timeout): requests a client may send that a proxy cannot forward as they are
/// get the listed answer, and a closed connection where listed, from the VIP, a load balancer, a web node and an
/// app node, and none of them is counted against a server — no failure, no retry, no health change, the VIP where
/// it was — while a normal client served at the same time sees no error. Slow clients:
/// HostileRequestTests.SlowClients.cs.
/// </summary>
[Collection(SeedTopology.Collection)]
public sealed partial class HostileRequestTests(SeedTopology topology)
{
    /// <summary>Longer than any answer takes, and than the client timeout a request waiting for more would meet (its 408 then shows).</summary>
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Corpus_EveryTier_AnsweredAsListed_NoServerBlamed_NormalClientUnharmed()
    {
        var corpus = HostileRequestCorpus.Load();
        Assert.True(corpus.Count > 100, $"the corpus has only {corpus.Count} requests");
        var before = await topology.BlameAsync();
        var mismatches = new List<string>();

        await using (var normal = NormalLoad.Start(topology.Run))
        {
            var targets = new (string Name, IPEndPoint Address, Tier Tier)[]
            {
                ("the VIP", IPEndPoint.Parse($"{topology.Run.Site.Host}:{topology.Run.Site.Port}"), Tier.Lb),
                ("lb-1", topology.Address("lb-1"), Tier.Lb),
                ("web-1", topology.Address("web-1"), Tier.Web),
                ("app-1", topology.Address("app-1"), Tier.App),
            };
            await Task.WhenAll(targets.Select(async target =>
            {
                foreach (var request in corpus)
                {
                    var (expected, close) = (request.Expected[target.Tier], request.Close.Contains(target.Tier));
                    var (status, closed, detail) = await HostileRequestCorpus.SendAsync(target.Address, request.Bytes, AnswerTimeout, awaitClose: close);
                    if (status != expected || (close && !closed))
                    {
                        lock (mismatches)
                        {
                            mismatches.Add($"{target.Name}, {request.Name}: expected {expected}{(close ? ", the connection closed" : "")}; got {detail}");
                        }
                    }
                }
            }));

            var served = await normal.StopAsync();
            Assert.True(served.Answered > 0, "the normal client was never answered");
            Assert.True(served.Failed.Count == 0, $"the normal client saw {served.Failed.Count} errors: {string.Join("; ", served.Failed.Take(5))}");
        }

        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {corpus.Count * 4} answers differ:\n{string.Join("\n", mismatches)}");
        await topology.AssertNoBlameSinceAsync(before);
    }

    [Fact]
    public async Task Burst_AtTheVip_UnderNormalLoad_NoErrorNoServerDownNoVipMove()
    {
        var corpus = HostileRequestCorpus.Load();
        var before = await topology.BlameAsync();
        var owner = (await topology.Run.StatusAsync())["vip"]!["owner"]!.GetValue<string>();
        var vip = IPEndPoint.Parse($"{topology.Run.Site.Host}:{topology.Run.Site.Port}");

        // 400 hostile requests, 8 at a time (the issue's burst was 8 a second for 12 s), every kind of the corpus in turn.
        const int Burst = 400;
        var next = -1;
        var unanswered = 0;
        await using (var normal = NormalLoad.Start(topology.Run))
        {
            await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
            {
                for (var i = Interlocked.Increment(ref next); i < Burst; i = Interlocked.Increment(ref next))
                {
                    var request = corpus[i % corpus.Count];
                    var (status, _, _) = await HostileRequestCorpus.SendAsync(vip, request.Bytes, AnswerTimeout);
                    if (status == 0 && request.Expected[Tier.Lb] != 0)
                    {
                        Interlocked.Increment(ref unanswered);
                    }
                }
            }));

            var served = await normal.StopAsync();
            Assert.True(served.Answered > 0, "the normal client was never answered");
            Assert.True(served.Failed.Count == 0, $"the normal client saw {served.Failed.Count} errors: {string.Join("; ", served.Failed.Take(5))}");
        }

        Assert.Equal(0, unanswered);
        Assert.Equal(owner, (await topology.Run.StatusAsync())["vip"]!["owner"]!.GetValue<string>());
        await topology.AssertNoBlameSinceAsync(before);
    }

    /// <summary>
    /// A normal client beside the hostile ones: two keep-alive connections through the VIP asking for a static file
    /// and the API in turn, until stopped (at most 60 s or 20,000 requests); the slowest answer is kept.
    /// </summary>
    private sealed class NormalLoad : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new(TimeSpan.FromSeconds(60));
        private readonly List<string> _failed = [];
        private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = 2 }) { Timeout = TimeSpan.FromSeconds(10) };
        private Task _clients = Task.CompletedTask;
        private int _answered;
        private TimeSpan _slowest;

        public static NormalLoad Start(EndToEndRun run)
        {
            var load = new NormalLoad();
            load._clients = Task.WhenAll(Enumerable.Range(0, 2).Select(c => load.ClientAsync(run, c)));
            return load;
        }

        public async Task<(int Answered, List<string> Failed, TimeSpan Slowest)> StopAsync()
        {
            await _stop.CancelAsync();
            await _clients;
            return (_answered, _failed, _slowest);
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            _client.Dispose();
            _stop.Dispose();
        }

        private async Task ClientAsync(EndToEndRun run, int client)
        {
            for (var i = 0; !_stop.IsCancellationRequested && i < 10_000; i++)
            {
                var path = (client + i) % 2 == 0 ? "/static/site.css" : "/api/messages?limit=1";
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(run.Site, path));
                request.Headers.Host = "www.foobar.com";
                try
                {
                    var clock = System.Diagnostics.Stopwatch.StartNew();
                    using var response = await _client.SendAsync(request);
                    await response.Content.ReadAsByteArrayAsync();
                    lock (_failed)
                    {
                        _slowest = clock.Elapsed > _slowest ? clock.Elapsed : _slowest;
                        if (!response.IsSuccessStatusCode)
                        {
                            _failed.Add($"{path}: {(int)response.StatusCode}");
                        }
                    }

                    Interlocked.Increment(ref _answered);
                }
                catch (HttpRequestException e)
                {
                    lock (_failed)
                    {
                        _failed.Add($"{path}: {e.Message}");
                    }
                }
            }
        }
    }
}
