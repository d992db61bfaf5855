using System.Globalization;
using System.Text.Json;

namespace Strata.Orchestration.Drill;

/// <summary>What the read-back found of the acknowledged writes.</summary>
/// <param name="Acknowledged">Writes the app answered 201.</param>
/// <param name="Present">Those whose text the app lists now.</param>
/// <param name="Missing">Those it does not: lost acknowledged writes, by the id the 201 gave (0 when its body was unreadable) and text.</param>
/// <param name="Duplicated">Extra copies of a drill text (a write the HTTP stack sent twice: it retries a request on a kept-alive connection the server closed).</param>
/// <param name="Complete">Whether every page down to the oldest acknowledged id was read; when not, <paramref name="Missing"/> is not known.</param>
/// <param name="Problem">Why it is not complete.</param>
public sealed record DrillVerification(int Acknowledged, int Present, IReadOnlyList<AcknowledgedWrite> Missing, int Duplicated, bool Complete, string? Problem = null);

/// <summary>
/// Reads every acknowledged write back through the VIP, as any client could: the guestbook's pages of messages
/// (<c>GET /api/messages?limit=100&amp;before=ID</c>, newest first) from the newest down to the oldest id acknowledged,
/// so a few thousand writes take a few dozen requests. A write counts as present by its unique text, not its id:
/// after a database failover a lost message's id can be given to another one.
/// </summary>
internal static class DrillReadBack
{
    private const int PageSize = 100;

    /// <summary>
    /// How long the read-back may take in all: a page the app cannot answer (503 while its database comes back) is
    /// asked again until then.
    /// </summary>
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(250);

    public static async Task<DrillVerification> VerifyAsync(DrillSite site, IReadOnlyList<AcknowledgedWrite> acknowledged, TimeSpan requestTimeout, TimeProvider time)
    {
        if (acknowledged.Count == 0)
        {
            return new DrillVerification(0, 0, [], 0, Complete: true);
        }

        var seen = acknowledged.ToDictionary(a => a.Text, _ => 0, StringComparer.Ordinal);
        // Down to the oldest acknowledged id; every page when a 201's body gave no id.
        var oldest = acknowledged.All(a => a.Id > 0) ? acknowledged.Min(a => a.Id) : 0;
        var started = time.GetTimestamp();
        long? before = null;
        while (true)
        {
            var path = before is { } id ? string.Create(CultureInfo.InvariantCulture, $"/api/messages?limit={PageSize}&before={id}") : $"/api/messages?limit={PageSize}";
            var (page, problem) = await PageAsync(site, new Uri(site.Address, path), requestTimeout, started, time);
            if (page is null)
            {
                return new DrillVerification(acknowledged.Count, seen.Count(s => s.Value > 0), [], 0, Complete: false, problem);
            }

            foreach (var (_, text) in page)
            {
                if (seen.TryGetValue(text, out var count))
                {
                    seen[text] = count + 1;
                }
            }

            if (page.Count < PageSize || page[^1].Id <= oldest)
            {
                break;
            }

            before = page[^1].Id;
        }

        var missing = acknowledged.Where(a => seen[a.Text] == 0).ToList();
        return new DrillVerification(acknowledged.Count, acknowledged.Count - missing.Count, missing, seen.Values.Sum(c => Math.Max(0, c - 1)), Complete: true);
    }

    /// <summary>One page, asked again until it is answered 200 or the read-back's time is up.</summary>
    private static async Task<(List<(long Id, string Text)>? Page, string? Problem)> PageAsync(DrillSite site, Uri uri, TimeSpan requestTimeout, long started, TimeProvider time)
    {
        var last = "";
        while (time.GetElapsedTime(started) < Limit)
        {
            using var timeout = new CancellationTokenSource(requestTimeout, time);
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, uri);
                using var response = await site.SendAsync(request, timeout.Token);
                var body = await response.Content.ReadAsByteArrayAsync(timeout.Token);
                if (response.IsSuccessStatusCode)
                {
                    return (Parse(body), null);
                }

                last = $"{uri.PathAndQuery}: HTTP {(int)response.StatusCode}";
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException or JsonException or InvalidOperationException or KeyNotFoundException)
            {
                last = $"{uri.PathAndQuery}: {(timeout.IsCancellationRequested ? "timed out" : DrillFailures.Describe(ex))}";
            }

            await Task.Delay(RetryDelay, time);
        }

        return (null, $"not read back within {Limit.TotalSeconds:0} s; last answer {last}");
    }

    private static List<(long Id, string Text)> Parse(byte[] body)
    {
        using var json = JsonDocument.Parse(body);
        return [.. json.RootElement.EnumerateArray().Select(m => (m.GetProperty("id").GetInt64(), m.GetProperty("text").GetString() ?? ""))];
    }
}
