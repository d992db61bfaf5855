using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Strata.Orchestration.Drill;

/// <summary>A write the app acknowledged (201): the message's id as the app gave it and its unique text.</summary>
/// <param name="Id">The id in the 201's body; 0 when the body could not be read.</param>
/// <param name="Text">Its text, unique in the run (<c>drill-SEED-RUN-N</c>): what the read-back looks for.</param>
public readonly record struct AcknowledgedWrite(long Id, string Text);

/// <summary>
/// The drill's steady mixed load through the VIP: a few client loops, each sending one request at a time at a steady
/// rate — a file of the site, a page the app renders from the database, or a guestbook message with a unique text —
/// and recording how each ended. Bounded by count and by time, whatever the drill does; stopping lets every loop
/// finish its request in flight.
/// </summary>
internal sealed class DrillLoad
{
    /// <summary>Files of the site a web node serves (the repository's wwwroot and every copy of it).</summary>
    private static readonly string[] StaticPaths = ["/static/site.css", "/static/site.js", "/robots.txt"];

    /// <summary>Pages the app renders from the database: the home page and the API's latest messages.</summary>
    private static readonly string[] DynamicPaths = ["/", "/api/messages?limit=10"];

    private readonly DrillSite _site;
    private readonly DrillClock _clock;
    private readonly DrillOptions _options;
    private readonly string _writeTag;
    private readonly Uri[] _static;
    private readonly Uri[] _dynamic;
    private readonly Uri _messages;
    private readonly List<DrillRequest>[] _requests;
    private readonly List<AcknowledgedWrite>[] _acknowledged;
    private readonly ConcurrentDictionary<string, int> _otherFailures = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly long _maxRequests;
    private readonly double _hardEndMs;
    private long _sent;
    private int _writes;
    private Task? _loops;

    /// <param name="site">The VIP.</param>
    /// <param name="clock">The drill's clock.</param>
    /// <param name="options">Clients, rate, request timeout, duration.</param>
    /// <param name="writeTag">The texts' prefix, unique to this run: <c>drill-SEED-RUN</c>.</param>
    /// <param name="hardLimit">The loops stop by themselves after this long, whatever happens.</param>
    public DrillLoad(DrillSite site, DrillClock clock, DrillOptions options, string writeTag, TimeSpan hardLimit)
    {
        _site = site;
        _clock = clock;
        _options = options;
        _writeTag = writeTag;
        _static = [.. StaticPaths.Select(p => new Uri(site.Address, p))];
        _dynamic = [.. DynamicPaths.Select(p => new Uri(site.Address, p))];
        _messages = new Uri(site.Address, "/api/messages");
        _requests = [.. Enumerable.Range(0, options.Clients).Select(_ => new List<DrillRequest>())];
        _acknowledged = [.. Enumerable.Range(0, options.Clients).Select(_ => new List<AcknowledgedWrite>())];
        _hardEndMs = hardLimit.TotalMilliseconds;
        // Twice what the rate allows over the whole limit: a bound on count that the rate never reaches.
        _maxRequests = (long)(2 * options.Clients * options.RatePerClient * hardLimit.TotalSeconds) + 1000;
    }

    /// <summary>The failures no cause names (another status, another error), by description, with how often each was seen.</summary>
    public IReadOnlyDictionary<string, int> OtherFailures => _otherFailures;

    /// <summary>Starts the client loops.</summary>
    public void Start() => _loops = Task.WhenAll(Enumerable.Range(0, _options.Clients).Select(c => Task.Run(() => LoopAsync(c))));

    /// <summary>Stops the loops once their requests in flight have ended; then every request and acknowledged write, by start time.</summary>
    public async Task<(List<DrillRequest> Requests, List<AcknowledgedWrite> Acknowledged)> StopAsync()
    {
        _stop.Cancel();
        if (_loops is not null)
        {
            await _loops;
        }

        _stop.Dispose();
        var requests = _requests.SelectMany(r => r).OrderBy(r => r.StartMs).ToList();
        return (requests, [.. _acknowledged.SelectMany(a => a)]);
    }

    private async Task LoopAsync(int client)
    {
        var stop = _stop.Token;
        // Each loop its own sequence of kinds, from the seed; the victims have theirs (DrillPlan).
        var random = new Random(unchecked((_options.Seed * 397) ^ (client + 1)));
        var requests = _requests[client];
        var acknowledged = _acknowledged[client];
        var buffer = new byte[16 * 1024];
        var interval = 1000 / _options.RatePerClient;
        // Spread over the first interval, so the loops do not send in step.
        var next = interval * client / _options.Clients;
        while (!stop.IsCancellationRequested && Interlocked.Increment(ref _sent) <= _maxRequests)
        {
            var now = _clock.NowMs;
            if (now >= _hardEndMs)
            {
                break;
            }

            if (next > now && !await WaitAsync(next - now, stop))
            {
                break;
            }

            var roll = random.Next(100);
            var request = roll < 40 ? await GetAsync(DrillRequestKind.Static, _static[random.Next(_static.Length)], buffer)
                : roll < 75 ? await GetAsync(DrillRequestKind.Dynamic, _dynamic[random.Next(_dynamic.Length)], buffer)
                : await PostAsync(acknowledged);
            requests.Add(request);
            // A steady rate: no burst to catch up after a slow answer.
            next = Math.Max(next + interval, _clock.NowMs);
        }
    }

    /// <summary>One GET, its whole body read into <paramref name="buffer"/> (and dropped), classified.</summary>
    internal async Task<DrillRequest> GetAsync(DrillRequestKind kind, Uri uri, byte[] buffer)
    {
        var start = _clock.NowMs;
        using var timeout = new CancellationTokenSource(_options.RequestTimeout, _clock.Time);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            using var response = await _site.SendAsync(request, timeout.Token);
            await using (var body = await response.Content.ReadAsStreamAsync(timeout.Token))
            {
                while (await body.ReadAsync(buffer, timeout.Token) > 0)
                {
                }
            }

            return Answered(start, kind, (int)response.StatusCode);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
        {
            return Failed(start, kind, ex, timeout.IsCancellationRequested);
        }
    }

    /// <summary>One POST of a message with the next unique text, classified; added to <paramref name="acknowledged"/> when answered 201.</summary>
    internal async Task<DrillRequest> PostAsync(List<AcknowledgedWrite> acknowledged)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{_writeTag}-{Interlocked.Increment(ref _writes)}");
        var start = _clock.NowMs;
        using var timeout = new CancellationTokenSource(_options.RequestTimeout, _clock.Time);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _messages)
            {
                Content = new StringContent($$"""{"author":"strata drill","text":"{{text}}"}""", Encoding.UTF8, "application/json"),
            };
            using var response = await _site.SendAsync(request, timeout.Token);
            var body = await response.Content.ReadAsByteArrayAsync(timeout.Token);
            var status = (int)response.StatusCode;
            if (response.StatusCode == HttpStatusCode.Created)
            {
                acknowledged.Add(new AcknowledgedWrite(IdOf(body), text));
            }

            return Answered(start, DrillRequestKind.Write, status);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
        {
            return Failed(start, DrillRequestKind.Write, ex, timeout.IsCancellationRequested);
        }
    }

    private DrillRequest Answered(double start, DrillRequestKind kind, int status)
    {
        var cause = DrillFailures.OfStatus(status, kind);
        if (cause == FailureCause.Other)
        {
            Note(string.Create(CultureInfo.InvariantCulture, $"{kind.ToString().ToLowerInvariant()}: HTTP {status}"));
        }

        return new DrillRequest(start, _clock.NowMs, kind, cause, status);
    }

    private DrillRequest Failed(double start, DrillRequestKind kind, Exception ex, bool timedOut)
    {
        var cause = DrillFailures.OfException(ex, timedOut);
        if (cause == FailureCause.Other)
        {
            Note($"{kind.ToString().ToLowerInvariant()}: {DrillFailures.Describe(ex)}");
        }

        return new DrillRequest(start, _clock.NowMs, kind, cause);
    }

    /// <summary>Counts an unclassified failure by its description; a bounded number of distinct ones are kept.</summary>
    private void Note(string description)
    {
        if (_otherFailures.Count < 20 || _otherFailures.ContainsKey(description))
        {
            _otherFailures.AddOrUpdate(description, 1, (_, n) => n + 1);
        }
    }

    /// <summary>The "id" of the message in a 201's body (the guestbook's Message); 0 when it cannot be read.</summary>
    private static long IdOf(byte[] body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.TryGetProperty("id", out var id) && id.TryGetInt64(out var value) ? value : 0;
        }
        catch (JsonException)
        {
            return 0;
        }
    }

    private async Task<bool> WaitAsync(double milliseconds, CancellationToken stop)
    {
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(milliseconds), _clock.Time, stop);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
