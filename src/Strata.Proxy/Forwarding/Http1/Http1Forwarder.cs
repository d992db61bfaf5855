using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Strata.Topology;

namespace Strata.Proxy.Forwarding.Http1;

/// <summary>
/// Forwards a request without a body over a kept-alive HTTP/1.1 connection of its own: the client side
/// (<see cref="IForwardingClient"/>) writes the request head into one buffer, sent in one call; the response head is
/// parsed in place and handed to the client side; the body is relayed into the client's pipe.
/// </summary>
/// <remarks>
/// <para>Why by hand: on the load balancer, YARP over HttpClient cost about three times HAProxy's CPU per request
/// (docs/benchmarks.md; perf put a third of all samples under HttpForwarder.SendAsync building HttpRequestMessage and
/// HttpResponseMessage, validating and copying every header twice, and the pool's bookkeeping). The requests that
/// make up nearly all traffic through a load balancer — GET and HEAD, no body, no upgrade — need none of that. Every
/// other request (a body, an upgrade, CONNECT) goes to YARP, which does those well.</para>
/// <para>Semantics follow YARP's and HAProxy's: hop-by-hop headers (and those named in Connection) are not relayed in
/// either direction; Via and X-Forwarded-* as <see cref="ProxyHeaders"/> says; interim 1xx responses are not
/// relayed; response trailers are dropped. A response that could be read two ways (both Content-Length and
/// Transfer-Encoding, two lengths, a folded or malformed header) is refused with 502, never relayed. A kept-alive
/// connection the server closed while idle is noticed before use (a readable idle socket) or, if it closes just as
/// the request is sent, the request is sent again on a new connection when its method is idempotent and nothing
/// came back (what HttpClient does too).</para>
/// </remarks>
internal static class Http1Forwarder
{
    private const int RelayChunk = 16 * 1024;

    /// <summary>
    /// Sends the request to the server of <paramref name="pool"/> (a new connection from <paramref name="source"/>) and relays its answer, for any client side: Kestrel's request
    /// and response (<see cref="KestrelProxyClient"/>), or a connection of its own (<see cref="ConnectionForwarder"/>).
    /// With <paramref name="discard503"/>, a 503 answer is not relayed: only the status is set, so that the caller can
    /// try another server.
    /// </summary>
    /// <remarks>
    /// One async method for the whole exchange, the resend on a new connection included: each async method that waits
    /// for the server allocates its state machine, the load balancer's only allocations per request (dotnet-trace).
    /// </remarks>
    public static async ValueTask<ForwardAttempt> ForwardAsync<TClient>(TClient client, Http1ConnectionPool pool, IPAddress? source, BackendSpec backend, bool discard503)
        where TClient : IForwardingClient
    {
        var connection = pool.TryTake();
        var canResend = connection is not null && IsIdempotent(client.Method);
        while (true)
        {
            // The request log's Tc (0 on a kept-alive connection) and Tr: three timestamps, no allocation.
            long connect = 0;
            long response = -1;
            if (connection is null)
            {
                try
                {
                    connect = Stopwatch.GetTimestamp();
                    connection = await Http1Connection.ConnectAsync(pool.EndPoint, source, backend.ConnectTimeout);
                    connect = Stopwatch.GetTimestamp() - connect;
                }
                catch (SocketException e)
                {
                    return new(ForwardOutcome.NotSent, e);
                }
                catch (OperationCanceledException)
                {
                    return new(ForwardOutcome.NotSent, new TimeoutException($"no connection within {backend.ConnectTimeout.TotalMilliseconds:0} ms"));
                }
            }

            int length;
            try
            {
                length = client.WriteRequestHead(connection);
            }
            catch (InvalidOperationException e)
            {
                // A header HTTP/1.1 cannot carry (HeadWriter): the client's; nothing was sent, the connection stays good.
                pool.Return(connection);
                return new(ForwardOutcome.Refused, e);
            }

            var keep = false;
            var registration = client.Aborted.CanBeCanceled ? client.Aborted.UnsafeRegister(static c => ((Http1Connection)c!).Abort(), connection) : default;
            connection.Arm(backend.ServerTimeout);
            var stage = Stage.Sending;
            var sent = Stopwatch.GetTimestamp();
            try
            {
                await connection.SendAsync(connection.HeadBuffer.AsMemory(0, length));

                stage = Stage.AwaitingHead;
                var head = connection.Head;
                while (true)
                {
                    var parsed = head.TryParse(connection.Buffered);
                    if (parsed == ParseResult.Invalid)
                    {
                        return Timed(new(ForwardOutcome.ResponseBroken, new InvalidDataException(head.Error)), connect, response, -1);
                    }

                    if (parsed == ParseResult.Complete)
                    {
                        if (head.Status >= 200)
                        {
                            break;
                        }

                        if (head.Status == StatusCodes.Status101SwitchingProtocols)
                        {
                            return Timed(new(ForwardOutcome.ResponseBroken, new InvalidDataException("101 Switching Protocols to a request without Upgrade")), connect, response, -1);
                        }

                        // 100 Continue, 103 Early Hints...: interim, not relayed (YARP does the same over HTTP/1.1).
                        connection.Consume(head.Length);
                        stage = Stage.ReadingHead;
                        continue;
                    }

                    if (!connection.Filled(await connection.FillAsync()))
                    {
                        // Closed before a whole head; a kept-alive connection closed before any answer is sent again (below).
                        return Closed(connection, canResend, stage) is { } closed
                            ? Timed(closed, connect, response, -1)
                            : throw new IOException("the kept-alive connection was closed before any answer");
                    }

                    stage = Stage.ReadingHead;
                }

                response = Stopwatch.GetTimestamp() - sent;
                client.SetStatus(head.Status);
                if (head.Status == StatusCodes.Status503ServiceUnavailable && discard503)
                {
                    return Timed(ForwardAttempt.Answered, connect, response, -1);
                }

                var noBody = HttpMethods.IsHead(client.Method) || head.Status is StatusCodes.Status204NoContent or StatusCodes.Status304NotModified;
                client.StartResponse(connection, noBody);
                connection.Consume(head.Length);

                stage = Stage.RelayingBody;
                if (noBody)
                {
                    keep = head.KeepAlive && connection.Buffered.IsEmpty;
                    return Timed(ForwardAttempt.Answered, connect, response, 0);
                }

                var relayed = head.Chunked
                    ? await RelayChunkedAsync(connection, client.Body, client.RelaysChunkFraming)
                    : await RelayAsync(connection, client.Body, head.ContentLength);

                if (relayed < 0)
                {
                    return Timed(ForwardAttempt.ClientGone, connect, response, -1);
                }

                client.Relayed(relayed);

                // A body that ends with the connection leaves nothing to keep.
                keep = head.KeepAlive && (head.ContentLength >= 0 || head.Chunked) && connection.Buffered.IsEmpty;
                return Timed(ForwardAttempt.Answered, connect, response, relayed);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or InvalidDataException)
            {
                if (client.Aborted.IsCancellationRequested)
                {
                    return Timed(ForwardAttempt.ClientGone, connect, response, -1);
                }

                if (stage == Stage.RelayingBody)
                {
                    // Headers (and maybe part of the body) are on their way: the client must see a broken response.
                    client.Abort();
                    return Timed(new(ForwardOutcome.ResponseBroken, e), connect, response, -1);
                }

                if (e is OperationCanceledException or InvalidDataException || stage == Stage.ReadingHead || !canResend)
                {
                    return Timed(e switch
                    {
                        OperationCanceledException => new(ForwardOutcome.TimedOut, e),
                        InvalidDataException => new(ForwardOutcome.ResponseBroken, e),
                        _ => new(ForwardOutcome.FailedAfterSend, e),
                    }, connect, response, -1);
                }

                // The kept-alive connection was closed as the request went out, before any answer: sent again (below).
            }
            finally
            {
                registration.Dispose();
                if (keep && connection.Disarm())
                {
                    pool.Return(connection);
                }
                else
                {
                    connection.Dispose();
                }
            }

            connection = null;
            canResend = false;
        }
    }

    private static ForwardAttempt Timed(ForwardAttempt attempt, long connect, long response, long bytes) =>
        attempt with { Connect = connect, Response = response, Bytes = bytes };

    /// <summary>The server closed the connection before a whole response head; null when the request can be sent again.</summary>
    private static ForwardAttempt? Closed(Http1Connection connection, bool canResend, Stage stage)
    {
        if (canResend && stage == Stage.AwaitingHead && connection.Buffered.IsEmpty)
        {
            return null;
        }

        return new ForwardAttempt(ForwardOutcome.FailedAfterSend, new IOException(
            connection.Buffered.IsEmpty ? "the server closed the connection without answering" : "the server closed the connection in the middle of the response head"));
    }

    /// <summary>Relays <paramref name="length"/> bytes, or up to the end of the stream when -1; returns the bytes relayed, -1 when the client went away.</summary>
    private static async ValueTask<long> RelayAsync(Http1Connection connection, PipeWriter writer, long length)
    {
        var remaining = length < 0 ? long.MaxValue : length;
        var total = remaining;
        var buffered = connection.Buffered;
        if (!buffered.IsEmpty)
        {
            var take = (int)Math.Min(remaining, buffered.Length);
            writer.Write(buffered[..take]);
            connection.Consume(take);
            remaining -= take;
        }

        var flushed = false;
        while (remaining > 0)
        {
            // What is written so far goes out while the next bytes are awaited.
            if (!await FlushAsync(writer))
            {
                return -1;
            }

            flushed = true;

            var memory = writer.GetMemory(RelayChunk);
            if (memory.Length > remaining)
            {
                memory = memory[..(int)remaining];
            }

            // Each receive re-arms the server timeout (an inactivity timeout: a long body is not a slow server).
            var received = connection.Received(await connection.ReceiveAsync(memory));
            if (received == 0)
            {
                if (length < 0)
                {
                    return total - remaining;
                }

                throw new IOException($"the server closed the connection {remaining} bytes before the end of the body");
            }

            writer.Advance(received);
            remaining -= received;
        }

        // Once a flush has started the response, Kestrel does not flush what is left at its end on a kept-alive
        // connection: flush here. A body that came whole with the head is left to Kestrel: head and body in one write.
        return !flushed || await FlushAsync(writer) ? total - remaining : -1;
    }

    /// <summary>
    /// Relays a chunked body (RFC 9112 §7.1): as data when Kestrel frames it again for its client, or with
    /// <paramref name="copyFraming"/> chunked again as it came (sizes without extensions, trailers dropped). Returns
    /// the body's length (its chunks' data), -1 when the client went away.
    /// </summary>
    private static async ValueTask<long> RelayChunkedAsync(Http1Connection connection, PipeWriter writer, bool copyFraming)
    {
        long total = 0;
        var pending = false;
        var flushed = false;
        while (true)
        {
            var (end, didFlush) = await LineAsync(connection, writer, pending);
            if (end < 0)
            {
                return -1;
            }

            flushed |= didFlush;
            pending = false;
            var size = ParseChunkSize(connection.Buffered[..end]);
            total += size;
            connection.Consume(end + 2);
            if (size == 0)
            {
                break;
            }

            if (copyFraming)
            {
                var line = writer.GetSpan(18);
                size.TryFormat(line, out var digits, "x", CultureInfo.InvariantCulture);
                "\r\n"u8.CopyTo(line[digits..]);
                writer.Advance(digits + 2);
            }

            while (size > 0)
            {
                var buffered = connection.Buffered;
                if (buffered.IsEmpty)
                {
                    if (pending && !await FlushAsync(writer))
                    {
                        return -1;
                    }

                    flushed |= pending;
                    pending = false;
                    if (!connection.Filled(await connection.FillAsync()))
                    {
                        throw new IOException("the server closed the connection in the middle of a chunk");
                    }

                    continue;
                }

                var take = (int)Math.Min(size, buffered.Length);
                writer.Write(buffered[..take]);
                connection.Consume(take);
                size -= take;
                pending = true;
            }

            (end, didFlush) = await LineAsync(connection, writer, pending);
            if (end != 0)
            {
                return end < 0 ? -1 : throw new InvalidDataException("a chunk is longer than its size says");
            }

            flushed |= didFlush;
            pending = false;
            connection.Consume(2);
            if (copyFraming)
            {
                writer.Write("\r\n"u8);
            }
        }

        // Trailers are dropped (HTTP/1.1 clients rarely read them): up to the blank line.
        while (true)
        {
            var (end, didFlush) = await LineAsync(connection, writer, pending: false);
            if (end < 0)
            {
                return -1;
            }

            connection.Consume(end + 2);
            if (end == 0)
            {
                if (copyFraming)
                {
                    writer.Write("0\r\n\r\n"u8);
                }

                // As in RelayAsync: once flushed, the rest must be flushed here.
                return !(flushed | didFlush) || await FlushAsync(writer) ? total : -1;
            }
        }
    }

    /// <summary>
    /// Waits until a whole line is buffered and returns its length (-1 when the client went away), first flushing
    /// what was written (<paramref name="pending"/>) so that the client gets it while the server is awaited.
    /// </summary>
    private static async ValueTask<(int End, bool Flushed)> LineAsync(Http1Connection connection, PipeWriter writer, bool pending)
    {
        var flushed = false;
        while (true)
        {
            var end = connection.Buffered.IndexOf("\r\n"u8);
            if (end >= 0)
            {
                return (end, flushed);
            }

            if (pending)
            {
                if (!await FlushAsync(writer))
                {
                    return (-1, flushed);
                }

                pending = false;
                flushed = true;
            }

            if (!connection.Filled(await connection.FillAsync()))
            {
                throw new IOException("the server closed the connection in the middle of a chunked body");
            }
        }
    }

    /// <summary>A chunk-size line's size (extensions ignored).</summary>
    /// <exception cref="InvalidDataException">The line is not a chunk size.</exception>
    private static long ParseChunkSize(ReadOnlySpan<byte> line)
    {
        var semicolon = line.IndexOf((byte)';');
        var digits = (semicolon >= 0 ? line[..semicolon] : line).TrimEnd(" \t"u8);
        if (digits.IsEmpty || digits.Length > 15)
        {
            throw new InvalidDataException("a chunk size is not a hexadecimal number");
        }

        long size = 0;
        foreach (var b in digits)
        {
            var digit = b switch
            {
                >= (byte)'0' and <= (byte)'9' => b - '0',
                >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
                >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
                _ => -1,
            };
            if (digit < 0)
            {
                throw new InvalidDataException("a chunk size is not a hexadecimal number");
            }

            size = (size * 16) + digit;
        }

        return size;
    }

    /// <summary>Flushes what was written to the client; false when the client is gone (its connection closed, reset or aborted).</summary>
    internal static async ValueTask<bool> FlushAsync(PipeWriter writer)
    {
        try
        {
            var flushed = await writer.FlushAsync();
            return !flushed.IsCompleted && !flushed.IsCanceled;
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            // A connection pipe completed with the transport's error (ConnectionResetException, ConnectionAbortedException).
            return false;
        }
    }

    private static bool IsIdempotent(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method)
        || HttpMethods.IsPut(method) || HttpMethods.IsDelete(method) || HttpMethods.IsTrace(method);

    private enum Stage
    {
        Sending,
        AwaitingHead,
        ReadingHead,
        RelayingBody,
    }
}
