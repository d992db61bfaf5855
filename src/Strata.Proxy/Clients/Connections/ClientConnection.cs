using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Strata.Hosting.Telemetry;
using Strata.Proxy.Forwarding;
using Strata.Proxy.Forwarding.Http1;
using Strata.Proxy.Routing;
using Strata.Proxy.Upstreams;
using Strata.Topology;

namespace Strata.Proxy.Clients.Connections;

/// <summary>
/// One client connection served by <see cref="ConnectionForwarder"/>: reads each request head from Kestrel's
/// connection pipe, has it forwarded, and writes the answer back (the response head rewritten from the server's, the
/// body relayed with its framing). HTTP/1.1, plain or over TLS (the load balancer's VIP and its HTTPS listener): the
/// scheme, X-Forwarded-Proto and the HTTPS answers' own header lines (HSTS) follow from which.
/// </summary>
/// <remarks>
/// On a node with content of its own (<see cref="IConnectionContent"/>: the web node's files), each request is offered to
/// it first, and every answer of the connection goes straight to the socket (<see cref="SocketOutput"/>; relayed answers
/// through <see cref="SocketPipeWriter"/>), never through Kestrel's output pipe, whose own loop a direct write could
/// overtake. What the content leaves is forwarded here when it <see cref="IConnectionContent.Forwards"/> it, with the
/// node's error answers (<see cref="ConnectionForwarder.ErrorWriter"/>) and the headers its Kestrel way in adds
/// (<see cref="ConnectionAnswerHeaders"/>), and recorded by the content; otherwise it is handed to Kestrel unread.
/// </remarks>
internal sealed class ClientConnection : IProxyClient, IForwardingClient, IConnectionRequest
{
    private readonly ConnectionForwarder _owner;
    private readonly ConnectionContext _context;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly RequestHead _request = new();
    private readonly bool _keepClientValues;
    private readonly string _peerText;
    private readonly byte[]? _https;
    private byte[] _head = new byte[2048];
    private readonly IConnectionContent? _content;

    /// <summary>Content answers a thread gives one connection in a row, after which the connection yields (<see cref="RunAsync"/>).</summary>
    private const int AnswersBeforeYield = 4;

    // The connection this thread last answered from content, and how many times in a row.
    [ThreadStatic]
    private static ClientConnection? t_lastAnswered;

    [ThreadStatic]
    private static int t_answeredInRow;
    private readonly SocketOutput? _socket;
    private readonly ConnectionAnswerHeaders? _added;
    private byte[]? _answer;
    private long _deadline = long.MaxValue;
    private volatile bool _timedOut;
    private volatile bool _closing;
    private bool _close;
    private Route? _route;
    private long _started;
    private long _answerBytes;
    private long _bodyBytes;
    private string? _servedBy;
    private string? _host;
    private string? _target;

    /// <param name="owner">The forwarder of the node.</param>
    /// <param name="context">The client's connection.</param>
    /// <param name="https">Null for plain HTTP; over TLS, the header lines every answer carries (CRLF after each).</param>
    public ClientConnection(ConnectionForwarder owner, ConnectionContext context, byte[]? https)
    {
        _owner = owner;
        _context = context;
        _https = https;
        _input = context.Transport.Input;
        var output = context.Transport.Output;
        var remote = context.RemoteEndPoint as IPEndPoint;
        Peer = remote?.Address;
        PeerPort = remote?.Port ?? 0;
        var local = context.LocalEndPoint as IPEndPoint;
        LocalAddress = local?.Address;
        LocalPort = local?.Port ?? 0;
        _keepClientValues = owner.ProxyHeaders.KeepsClientValues(Peer);
        _peerText = owner.ProxyHeaders.PeerAsText(Peer);
        // Content only over plain TCP with the socket at hand: its answers never go through Kestrel's pipe.
        if (owner.Content is { } content && https is null && context.Features.Get<IConnectionSocketFeature>()?.Socket is { } socket)
        {
            _content = content;
            _socket = new SocketOutput(socket, context, (long)owner.Forwarder.ClientTimeout.TotalMilliseconds);
            // Relayed answers too, so that they keep their order with the content's.
            output = new SocketPipeWriter(_socket);
            _added = content.AnswerHeaders;
        }

        _output = output;
    }

    public string Method => _request.Method;

    public string Scheme => _https is null ? "http" : "https";

    public string Host => _host ??= Encoding.ASCII.GetString(Slice(_head, _request.Host));

    public string RequestUri => _target ??= Encoding.ASCII.GetString(Slice(_head, _request.Target));

    /// <summary>The path as sent: requests whose path would need decoding go to Kestrel while routes match paths (<see cref="UpstreamForwarder.RoutesByPath"/>).</summary>
    public string Path => RequestUri.IndexOf('?') is var query and >= 0 ? RequestUri[..query] : RequestUri;

    /// <summary>None: this path does not route ahead of the pipeline.</summary>
    public Route? Route => null;

    public void Routed(Route route) => _route = route;

    public string? Header(string name)
    {
        // Rare (a route matching a header): the head is read again, every line of it.
        var lines = _head.AsSpan(_request.RequestLine.Length, _request.Length - _request.RequestLine.Length);
        string? found = null;
        foreach (var range in lines.Split("\r\n"u8))
        {
            var line = lines[range];
            var colon = line.IndexOf((byte)':');
            if (colon > 0 && Ascii.EqualsIgnoreCase(line[..colon], name))
            {
                var value = Encoding.ASCII.GetString(line[(colon + 1)..].Trim(" \t"u8));
                found = found is null ? value : $"{found}, {value}";
            }
        }

        return found;
    }

    /// <summary>The client's address.</summary>
    public IPAddress? Peer { get; }

    public IPAddress? LimitedClient =>
        _keepClientValues && _request.ForwardedFor.Length > 0
            ? _owner.ProxyHeaders.LimitedClient(Peer, Encoding.ASCII.GetString(Slice(_head, _request.ForwardedFor)))
            : Peer;

    public int PeerPort { get; }

    public IPAddress? LocalAddress { get; }

    public int LocalPort { get; }

    /// <summary>This path takes HTTP/1.1 only (<see cref="RequestHead"/>).</summary>
    public string Protocol => "HTTP/1.1";

    public long Started => _started;

    public long AnswerBytes => _answerBytes;

    /// <summary>A client that goes away is noticed on the next write (as HAProxy without <c>abortonclose</c>).</summary>
    public CancellationToken Aborted => CancellationToken.None;

    public PipeWriter Body => _output;

    public bool RelaysChunkFraming => true;

    /// <summary>The status the client got (or gets): the server's, or the error answer's.</summary>
    public int Status { get; private set; }

    /// <summary>Whether anything of the response has been written.</summary>
    public bool ResponseStarted { get; private set; }

    /// <summary>GET or HEAD only (<see cref="RequestHead"/>).</summary>
    public bool HasBody => false;

    /// <summary>None: this path is off while a policy must read the request (<see cref="ConnectionForwarder.TakesRequests"/>).</summary>
    public HttpContext? Context => null;

    /// <summary>Nothing to refuse: <see cref="RequestHead"/> takes only what <see cref="RequestScreen"/> lets through (visible ASCII, no Connection option but close and keep-alive, no body) and leaves the rest to Kestrel, where the screen runs.</summary>
    public RequestScreen.Refusal? Screen() => null;

    /// <summary>Never asked: this path is off while the backend has a persistence cookie.</summary>
    public string? Cookie(string name) => null;

    public void Chose(Upstream upstream, BackendSpec backend)
    {
    }

    public ValueTask<ForwardAttempt> SendAsync(Upstream upstream, BackendSpec backend, bool discard503) =>
        Http1Forwarder.ForwardAsync(this, upstream.Connections, _owner.Forwarder.Source, backend, discard503);

    /// <summary>Nothing to forget: a response is written only once it is relayed.</summary>
    public void ResetResponse()
    {
    }

    public ValueTask WriteErrorAsync(int status, string detail, bool close)
    {
        if (_owner.ErrorWriter is { } errors)
        {
            // The node's own answers (the web node's error pages), chosen by Accept as on Kestrel's way in.
            var accept = _request.AcceptRepeated ? Header("Accept") ?? "" : _request.Accept.Length == 0 ? "" : Encoding.ASCII.GetString(Slice(_head, _request.Accept));
            var answer = errors.AnswerAsync(new UpstreamError(status, detail), accept)!.Value;
            if (answer.IsCompletedSuccessfully)
            {
                WriteAnswer(status, answer.Result, close);
                return ValueTask.CompletedTask;
            }

            return WriteAnswerAsync(status, answer, close);
        }

        var body = Encoding.UTF8.GetBytes(new UpstreamError(status, detail).ToPlainText());
        WriteAnswer(status, "Content-Type: text/plain; charset=utf-8\r\n" + (status == StatusCodes.Status503ServiceUnavailable ? "Retry-After: 1\r\n" : ""), body, close);
        return ValueTask.CompletedTask;
    }

    public ValueTask WriteAnswerAsync(RuleAnswer answer)
    {
        var headers = answer.Location is { } location ? $"Location: {location}\r\n" : $"Content-Type: {answer.ContentType}\r\n";
        if (answer.RetryAfter > 0)
        {
            headers += $"Retry-After: {answer.RetryAfter}\r\n";
        }

        WriteAnswer(answer.Status, headers, Encoding.UTF8.GetBytes(answer.Body), close: false);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Whether this connection, just answered from content, lets other connections go first. Files are answered on the
    /// socket's event thread without a wait, and the next request of a client that asks again at once is read there
    /// too (the socket's receive completes at once): a few such connections were served over and over while the
    /// others' requests waited (one core, 16 / 64 connections: p50 52 µs, p99 4.4 / 4.2 ms; docs/benchmarks.md). When
    /// a thread has answered the same connection <see cref="AnswersBeforeYield"/> times in a row, the connection's
    /// rest goes to the thread pool and the event thread returns to its other connections, as nginx posts a kept-alive
    /// connection's next read after its other events (0.7 / 1.9 ms). Not on a connection from a proxy in front (the
    /// load balancer): it reuses its kept-alive connections newest first, so one is answered many times in a row by
    /// design while the proxy is fair to its own clients, and yielding there cost the static chain a tenth of its
    /// requests/s.
    /// </summary>
    private bool YieldsAfterAnswer()
    {
        if (t_lastAnswered != this)
        {
            t_lastAnswered = this;
            t_answeredInRow = 1;
            return false;
        }

        if (++t_answeredInRow < AnswersBeforeYield)
        {
            return false;
        }

        t_lastAnswered = null;
        return true;
    }

    /// <summary>Serves requests until the connection ends (false) or one must be left to Kestrel (true: the connection is handed over with that request unread).</summary>
    public async Task<bool> RunAsync()
    {
        using var closing = _context.Features.Get<IConnectionLifetimeNotificationFeature>() is { } lifetime
            ? lifetime.ConnectionClosedRequested.UnsafeRegister(static state => ((ClientConnection)state!).RequestClose(), this)
            : default;
        var forwarder = _owner.Forwarder;
        while (!_close)
        {
            if (!_owner.TakesRequests && _content is null)
            {
                return true;
            }

            // Kestrel's KeepAliveTimeout and RequestHeadersTimeout, both the client timeout on a forwarding node.
            Volatile.Write(ref _deadline, Environment.TickCount64 + (long)forwarder.ClientTimeout.TotalMilliseconds);
            ReadOnlySequence<byte> buffer;
            int length;
            _started = 0;
            while (true)
            {
                var result = await _input.ReadAsync();
                buffer = result.Buffer;
                if (_started == 0 && !buffer.IsEmpty)
                {
                    // The request log's TR and date: when this request's first byte was seen.
                    _started = Stopwatch.GetTimestamp();
                }

                length = result.IsCanceled ? -1 : HeadLength(buffer);
                if (length >= 0)
                {
                    break;
                }

                if (result.IsCanceled || result.IsCompleted)
                {
                    // Timed out, closing (the server stops), or the client closed: a partial head that timed out gets 408 as from Kestrel.
                    Volatile.Write(ref _deadline, long.MaxValue);
                    if (_timedOut && !buffer.IsEmpty && !result.IsCompleted)
                    {
                        _output.Write("HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8);
                        await Http1Forwarder.FlushAsync(_output);
                    }

                    _input.AdvanceTo(buffer.End);
                    return false;
                }

                if (buffer.Length >= RequestHead.MaxLength || HasBareLineFeed(buffer) || RefusesRequestLine(buffer))
                {
                    // Too long for this path, lines ended by LF alone, which would never show the blank line this path
                    // waits for, or a request line it does not take (HTTP/0.9 sends nothing after it): Kestrel answers
                    // each at once (400 for a bare LF, NodeHost).
                    return HandOver(buffer);
                }

                _input.AdvanceTo(buffer.Start, buffer.End);
            }

            if (length > _head.Length)
            {
                _head = new byte[Math.Max(length, _head.Length * 2)];
            }

            buffer.Slice(0, length).CopyTo(_head);
            if (!_request.TryParse(_head.AsSpan(0, length), replaceForwarded: !_keepClientValues)
                || (!_request.PlainPath && forwarder.RoutesByPath)
                || _request.RequestLine.Length > _owner.MaxRequestLine || length - _request.RequestLine.Length > _owner.MaxHeaderBytes)
            {
                // Not a request this path takes, a path Kestrel must decode before a route can match it, or a head over
                // the node's limits (web.client), which Kestrel refuses.
                return HandOver(buffer);
            }

            _route = null;
            _host = _target = null;
            if (_content is not null)
            {
                _close = _request.Close || _closing;
                if (_content.TryServe(this, out var forward) is { } serving)
                {
                    // The head is in _head: the content reads it there.
                    _input.AdvanceTo(buffer.GetPosition(length));
                    Volatile.Write(ref _deadline, long.MaxValue);
                    await serving;
                    if (!_keepClientValues && YieldsAfterAnswer())
                    {
                        await Task.Yield();
                    }

                    continue;
                }

                if (!_owner.TakesRequests || !forward)
                {
                    // A management route, what the static middleware answers, or the node routes or balances by what Kestrel's way in reads: Kestrel's to serve.
                    return HandOver(buffer);
                }
            }

            var headRead = _content is null ? 0 : Stopwatch.GetTimestamp();
            _input.AdvanceTo(buffer.GetPosition(length));
            Volatile.Write(ref _deadline, long.MaxValue);
            _close = _request.Close || _closing;
            Status = StatusCodes.Status200OK;
            ResponseStarted = false;
            _answerBytes = -1;
            _bodyBytes = 0;
            _servedBy = null;
            var span = ProxyTracing.StartServer(Method, Slice(_head, _request.TraceParent), Slice(_head, _request.TraceState));
            try
            {
                await forwarder.ForwardAsync(this);
            }
            finally
            {
                if (span is not null)
                {
                    ProxyTracing.End(span, Status);
                }
            }

            var flushed = _output.UnflushedBytes == 0 || await Http1Forwarder.FlushAsync(_output);
            _content?.Forwarded(this, Status, _bodyBytes, _servedBy, headRead);
            if (!flushed)
            {
                return false;
            }
        }

        return false;
    }

    bool IConnectionRequest.IsHead => HttpMethods.IsHead(_request.Method);

    ReadOnlySpan<byte> IConnectionRequest.Target => Slice(_head, _request.Target);

    ReadOnlySpan<byte> IConnectionRequest.Path => _head.AsSpan(_request.Target.Start, _request.PathLength);

    bool IConnectionRequest.PlainPath => _request.PlainPath;

    bool IConnectionRequest.Conditional => _request.Conditional;

    ReadOnlySpan<byte> IConnectionRequest.AcceptEncoding => Slice(_head, _request.AcceptEncoding);

    ReadOnlySpan<byte> IConnectionRequest.Referer => Slice(_head, _request.Referer);

    ReadOnlySpan<byte> IConnectionRequest.UserAgent => Slice(_head, _request.UserAgent);

    ReadOnlySpan<byte> IConnectionRequest.ForwardedFor => Slice(_head, _request.ForwardedFor);

    bool IConnectionRequest.HasRoutes => _owner.Forwarder.HasRoutes;

    bool IConnectionRequest.Closes => _close;

    Memory<byte> IConnectionRequest.Buffer(int length)
    {
        if (_answer is null || _answer.Length < length)
        {
            _answer = new byte[Math.Max(length, 4096)];
        }

        return _answer;
    }

    // The pooling builder: an answer that waits for its client costs no allocation either.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    async ValueTask<bool> IConnectionRequest.SendAsync(ReadOnlyMemory<byte> bytes)
    {
        if (!await _socket!.SendAsync(bytes))
        {
            _close = true;
            return false;
        }

        return true;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    async ValueTask<bool> IConnectionRequest.SendFileAsync(Memory<byte> head, FileStream file, long offset, int count)
    {
        if (!await _socket!.SendFileAsync(head, file, offset, count))
        {
            // Part of the answer may be out: the connection cannot carry another.
            _close = true;
            _context.Abort();
            return false;
        }

        return true;
    }

    public int WriteRequestHead(Http1Connection connection)
    {
        var head = _head.AsSpan();
        var request = _request;
        var writer = new HeadWriter(connection);
        writer.Append(Slice(head, request.RequestLine));
        writer.Append(Slice(head, request.HostLine));
        var edits = _route?.RequestEdits ?? HeaderEdits.None;
        // While the node traces, the attempt's span is the parent the server is told of, in place of the client's.
        var span = TraceContextHeaders.Current;
        var dropTraceContext = span is not null && request.HasTraceContext;
        foreach (var line in request.Copied)
        {
            var bytes = Slice(head, line);
            if (edits.IsEmpty && !dropTraceContext)
            {
                writer.Append(bytes);
                continue;
            }

            var name = bytes[..bytes.IndexOf((byte)':')];
            if ((edits.IsEmpty || !edits.Drops(name)) && !ProxyHeaders.IsReplacedTraceContext(ProxyHeaders.Classify(name), span))
            {
                writer.Append(bytes);
            }
        }

        writer.Append(edits.Lines);
        writer.TraceContext(span);

        writer.Append("Via: "u8);
        if (request.Via.Length > 0)
        {
            writer.Append(Slice(head, request.Via));
            writer.Append(", "u8);
        }

        writer.Append(_owner.ProxyHeaders.Via);
        writer.Append("\r\nX-Forwarded-For: "u8);
        if (_keepClientValues && request.ForwardedFor.Length > 0)
        {
            writer.Append(Slice(head, request.ForwardedFor));
            writer.Append(", "u8);
        }

        writer.Append(_peerText);
        writer.Append("\r\n"u8);
        if (!_keepClientValues || !request.HasForwardedProto)
        {
            writer.Append(_https is null ? "X-Forwarded-Proto: http\r\n"u8 : "X-Forwarded-Proto: https\r\n"u8);
        }

        if (!_keepClientValues || !request.HasForwardedHost)
        {
            writer.Append("X-Forwarded-Host: "u8);
            writer.Append(Slice(head, request.Host));
            writer.Append("\r\n"u8);
        }

        writer.Append("\r\n"u8);
        return writer.Length;
    }

    public void SetStatus(int status) => Status = status;

    public void Relayed(long bytes) => _bodyBytes = bytes;

    public void StartResponse(Http1Connection connection, bool noBody)
    {
        if (_added is not null)
        {
            StartSiteResponse(connection, noBody, _added);
            return;
        }

        ResponseStarted = true;
        var head = connection.Head;
        var bytes = connection.Buffered;
        var via = _owner.ProxyHeaders.Via;
        var edits = _route?.ResponseEdits ?? HeaderEdits.None;

        var https = _https ?? [];

        // At most the server's head (a space may be added after each colon), Via, the edits, HTTPS's lines, the framing headers and Connection.
        var span = _output.GetSpan(head.Length + via.Length + edits.Lines.Length + https.Length + 80 + head.Headers.Length);
        var writer = new SpanWriter(span);
        writer.Append("HTTP/1.1"u8);
        writer.Append(bytes[8..bytes.IndexOf("\r\n"u8)]);
        writer.Append("\r\n"u8);
        foreach (var range in head.Headers)
        {
            var name = bytes.Slice(range.NameStart, range.NameLength);
            if ((head.ConnectionOptions is null || !head.IsConnectionOption(name)) && (edits.IsEmpty || !edits.Drops(name)))
            {
                writer.Append(name);
                writer.Append(": "u8);
                writer.Append(bytes.Slice(range.ValueStart, range.ValueLength));
                writer.Append("\r\n"u8);
            }
        }

        writer.Append("Via: "u8);
        writer.Append(via);
        writer.Append("\r\n"u8);
        writer.Append(edits.Lines);
        writer.Append(https);
        EndHead(ref writer, head, noBody);
    }

    /// <summary>The answer's framing as the server's (Content-Length, chunked, or closing), Connection: close when this connection ends, and the head's end.</summary>
    private void EndHead(ref SpanWriter writer, ResponseHead head, bool noBody)
    {
        if (noBody ? head.ContentLength >= 0 && head.Status is not (StatusCodes.Status204NoContent or StatusCodes.Status304NotModified) : !head.Chunked && head.ContentLength >= 0)
        {
            writer.Append("Content-Length: "u8);
            writer.Append(head.ContentLength);
            writer.Append("\r\n"u8);
        }
        else if (!noBody && head.Chunked)
        {
            writer.Append("Transfer-Encoding: chunked\r\n"u8);
        }
        else if (!noBody)
        {
            // Delimited by the server closing: so is the answer to the client.
            _close = true;
        }

        if (_close)
        {
            writer.Append("Connection: close\r\n"u8);
        }

        writer.Append("\r\n"u8);
        _output.Advance(writer.Length);
    }

    /// <summary>
    /// <see cref="StartResponse"/> on a node with content (the web node), as its Kestrel way in writes the answer: the
    /// server's Via values and the node's in one line, the node's Server, Date and security headers where the server sent
    /// none of that name; the server's X-Served-By kept for the access log.
    /// </summary>
    private void StartSiteResponse(Http1Connection connection, bool noBody, ConnectionAnswerHeaders added)
    {
        ResponseStarted = true;
        var head = connection.Head;
        var bytes = connection.Buffered;
        var via = _owner.ProxyHeaders.Via;
        var edits = _route?.ResponseEdits ?? HeaderEdits.None;

        // At most the server's head (a space may be added after each colon; its Via values joined), Via, the edits, the added lines, the framing headers and Connection.
        var span = _output.GetSpan(head.Length + via.Length + edits.Lines.Length + added.MaxLength + 80 + head.Headers.Length);
        var writer = new SpanWriter(span);
        writer.Append("HTTP/1.1"u8);
        writer.Append(bytes[8..bytes.IndexOf("\r\n"u8)]);
        writer.Append("\r\n"u8);
        // Bit i: added header i; bit 62: Server; bit 63: Date.
        var present = 0UL;
        var vias = 0;
        foreach (var range in head.Headers)
        {
            var name = bytes.Slice(range.NameStart, range.NameLength);
            if ((head.ConnectionOptions is not null && head.IsConnectionOption(name)) || (!edits.IsEmpty && edits.Drops(name)))
            {
                continue;
            }

            if (name.Length == 3 && Ascii.EqualsIgnoreCase(name, "via"u8))
            {
                vias++;
                continue;
            }

            present |= Present(name, added);
            if (name.Length == 11 && Ascii.EqualsIgnoreCase(name, "x-served-by"u8))
            {
                _servedBy = connection.HeaderStrings.Get(name, bytes.Slice(range.ValueStart, range.ValueLength)).Value;
            }

            writer.Append(name);
            writer.Append(": "u8);
            writer.Append(bytes.Slice(range.ValueStart, range.ValueLength));
            writer.Append("\r\n"u8);
        }

        // Kestrel's way in sets one Via: the server's values (joined as StringValues are) and the node's.
        writer.Append("Via: "u8);
        if (vias > 0)
        {
            foreach (var range in head.Headers)
            {
                var name = bytes.Slice(range.NameStart, range.NameLength);
                if (name.Length == 3 && Ascii.EqualsIgnoreCase(name, "via"u8))
                {
                    writer.Append(bytes.Slice(range.ValueStart, range.ValueLength));
                    writer.Append(--vias > 0 ? ","u8 : ", "u8);
                }
            }
        }

        writer.Append(via);
        writer.Append("\r\n"u8);
        writer.Append(edits.Lines);
        AppendAdded(ref writer, added, present);
        EndHead(ref writer, head, noBody);
    }

    /// <summary>The bit of <paramref name="name"/> among the headers the node adds where missing (<see cref="StartSiteResponse"/>), 0 when none.</summary>
    private static ulong Present(ReadOnlySpan<byte> name, ConnectionAnswerHeaders added)
    {
        if (name.Length == 6 && Ascii.EqualsIgnoreCase(name, "server"u8))
        {
            return 1UL << 62;
        }

        if (name.Length == 4 && Ascii.EqualsIgnoreCase(name, "date"u8))
        {
            return 1UL << 63;
        }

        var names = added.Names;
        for (var i = 0; i < names.Length; i++)
        {
            if (names[i].Length == name.Length && Ascii.EqualsIgnoreCase(name, names[i]))
            {
                return 1UL << i;
            }
        }

        return 0;
    }

    /// <summary>The node's Server, Date and added headers that are not in <paramref name="present"/>.</summary>
    private static void AppendAdded(ref SpanWriter writer, ConnectionAnswerHeaders added, ulong present)
    {
        if (added.ServerHeader && (present & (1UL << 62)) == 0)
        {
            writer.Append(ConnectionAnswerHeaders.ServerLine);
        }

        if ((present & (1UL << 63)) == 0)
        {
            writer.Append("Date: "u8);
            writer.Append(HttpDate.Current);
            writer.Append("\r\n"u8);
        }

        var lines = added.Lines;
        for (var i = 0; i < lines.Length; i++)
        {
            if ((present & (1UL << i)) == 0)
            {
                writer.Append(lines[i]);
            }
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteAnswerAsync(int status, ValueTask<ErrorAnswer> answer, bool close) => WriteAnswer(status, await answer, close);

    /// <summary>The node's own error answer (<see cref="ConnectionForwarder.ErrorWriter"/>'s bytes) with X-Served-By, Content-Length and, on a node with content, the headers its Kestrel way in adds.</summary>
    private void WriteAnswer(int status, ErrorAnswer answer, bool close)
    {
        _close |= close;
        Status = status;
        ResponseStarted = true;
        var isHead = HttpMethods.IsHead(Method);
        _answerBytes = _bodyBytes = isHead ? 0 : answer.Body.Length;
        _servedBy = _owner.ProxyName;
        var edits = _route?.ResponseEdits.Lines ?? [];
        var https = _https ?? [];
        var span = _output.GetSpan(answer.HeaderLines.Length + edits.Length + https.Length + (_added?.MaxLength ?? 0) + _owner.ProxyName.Length + 160);
        var writer = new SpanWriter(span);
        writer.Append("HTTP/1.1 "u8);
        writer.Append(status);
        writer.Append(" "u8);
        writer.Append(Encoding.ASCII.GetBytes(ReasonPhrases.GetReasonPhrase(status)));
        writer.Append("\r\n"u8);
        writer.Append(answer.HeaderLines);
        writer.Append("X-Served-By: "u8);
        writer.Append(Encoding.ASCII.GetBytes(_owner.ProxyName));
        writer.Append("\r\nContent-Length: "u8);
        writer.Append(answer.Body.Length);
        writer.Append("\r\n"u8);
        if (_close)
        {
            writer.Append("Connection: close\r\n"u8);
        }

        writer.Append(edits);
        writer.Append(https);
        if (_added is not null)
        {
            AppendAdded(ref writer, _added, 0);
        }

        writer.Append("\r\n"u8);
        _output.Advance(writer.Length);
        if (!isHead)
        {
            _output.Write(answer.Body);
        }
    }

    public void Abort()
    {
        _close = true;
        _context.Abort();
    }

    /// <summary>
    /// Writes the forwarder's own answer (an error as <see cref="PlainTextUpstreamErrorWriter"/>'s, or a rule's) with
    /// <paramref name="headers"/> (lines, CRLF after each), X-Served-By, the route's response edits and Content-Length;
    /// with <paramref name="close"/> the connection is closed after it.
    /// </summary>
    private void WriteAnswer(int status, string headers, byte[] body, bool close)
    {
        _close |= close;
        Status = status;
        ResponseStarted = true;
        _answerBytes = _bodyBytes = HttpMethods.IsHead(Method) ? 0 : body.Length;
        var head = string.Create(CultureInfo.InvariantCulture,
            $"HTTP/1.1 {status} {ReasonPhrases.GetReasonPhrase(status)}\r\n{headers}{UpstreamForwarder.ServedByHeader}: {_owner.ProxyName}\r\nContent-Length: {body.Length}\r\n{(_close ? "Connection: close\r\n" : "")}");
        _output.Write(Encoding.Latin1.GetBytes(head));
        _output.Write(_route?.ResponseEdits.Lines ?? []);
        _output.Write(_https ?? []);
        _output.Write("\r\n"u8);
        if (!HttpMethods.IsHead(Method))
        {
            _output.Write(body);
        }
    }

    /// <summary>Called by the heartbeat: a client that has not sent a whole request head in time is closed.</summary>
    public void CheckDeadline(long now)
    {
        if (now > Volatile.Read(ref _deadline))
        {
            _timedOut = true;
            _input.CancelPendingRead();
        }
    }

    private void RequestClose()
    {
        _closing = true;
        _input.CancelPendingRead();
    }

    private bool HandOver(ReadOnlySequence<byte> buffer)
    {
        // Nothing consumed or examined: Kestrel's first read returns this request at once.
        _input.AdvanceTo(buffer.Start);
        Volatile.Write(ref _deadline, long.MaxValue);
        return true;
    }

    /// <summary>The length of the request head at the start of <paramref name="buffer"/>, blank line included; -1 when it is not whole yet.</summary>
    private static int HeadLength(ReadOnlySequence<byte> buffer)
    {
        if (buffer.IsSingleSegment)
        {
            var end = buffer.FirstSpan.IndexOf("\r\n\r\n"u8);
            return end < 0 || end >= RequestHead.MaxLength ? -1 : end + 4;
        }

        var reader = new SequenceReader<byte>(buffer);
        return reader.TryReadTo(out ReadOnlySequence<byte> _, "\r\n\r\n"u8) && reader.Consumed <= RequestHead.MaxLength ? (int)reader.Consumed : -1;
    }

    /// <summary>Whether the incomplete head in <paramref name="buffer"/> has a whole request line this path does not take.</summary>
    private bool RefusesRequestLine(ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryReadTo(out ReadOnlySequence<byte> line, "\r\n"u8))
        {
            return false;
        }

        if (line.Length > _head.Length)
        {
            // Shorter than RequestHead.MaxLength, as the whole buffer.
            _head = new byte[RequestHead.MaxLength];
        }

        line.CopyTo(_head);
        return !_request.ParseRequestLine(_head.AsSpan(0, (int)line.Length));
    }

    /// <summary>Whether a line of the incomplete head in <paramref name="buffer"/> ends in LF without CR.</summary>
    private static bool HasBareLineFeed(ReadOnlySequence<byte> buffer)
    {
        // Vectorized IndexOf, as HeadLength's search: a client sending its head a byte at a time has each read rescan it.
        var previous = (byte)0;
        foreach (var segment in buffer)
        {
            var span = segment.Span;
            for (int start = 0, at; (at = span[start..].IndexOf((byte)'\n')) >= 0; start += at + 1)
            {
                var lineFeed = start + at;
                if ((lineFeed > 0 ? span[lineFeed - 1] : previous) != '\r')
                {
                    return true;
                }
            }

            if (!span.IsEmpty)
            {
                previous = span[^1];
            }
        }

        return false;
    }

    private static ReadOnlySpan<byte> Slice(ReadOnlySpan<byte> head, RequestHead.Line line) => head.Slice(line.Start, line.Length);

    /// <summary>Appends to a span sized beforehand.</summary>
    private ref struct SpanWriter(Span<byte> span)
    {
        private readonly Span<byte> _span = span;

        public int Length { get; private set; }

        public void Append(ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(_span[Length..]);
            Length += bytes.Length;
        }

        public void Append(long value)
        {
            value.TryFormat(_span[Length..], out var written, default, CultureInfo.InvariantCulture);
            Length += written;
        }
    }
}
