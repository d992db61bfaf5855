using System.Net;

namespace Strata.Proxy.Clients.Connections;

/// <summary>
/// A node's own content served on the connection path (<see cref="ConnectionForwarder"/>) ahead of forwarding: the web
/// node's files. Registered as a service of a forwarding node; the load balancer has none.
/// </summary>
public interface IConnectionContent
{
    /// <summary>
    /// Starts answering <paramref name="request"/> on its connection, or returns null, having written nothing, to leave it
    /// to the rest of the path: forwarded on the connection path when <paramref name="forward"/> says so, else handed to
    /// Kestrel unread with the rest of the connection (one of the node's own endpoints — its management routes, which
    /// Kestrel's way in answers in its own way —, anything while the node has routes).
    /// </summary>
    /// <remarks>Decides synchronously: the request's spans are valid until the returned task ends.</remarks>
    ValueTask? TryServe(IConnectionRequest request, out bool forward);

    /// <summary>The header lines the node's Kestrel way in adds to every answer that lacks them (Server, Date, the site's security headers).</summary>
    ConnectionAnswerHeaders AnswerHeaders { get; }

    /// <summary>Records a request the connection path forwarded or answered with an error (the access log, the served requests' metrics).</summary>
    /// <param name="request">The request, still readable.</param>
    /// <param name="status">The status the client got.</param>
    /// <param name="bytes">The answer's body bytes sent (0 for HEAD).</param>
    /// <param name="servedBy">The answer's X-Served-By (the server that answered, or the node itself), or null.</param>
    /// <param name="started">When the request's head was read (a <see cref="System.Diagnostics.Stopwatch"/> timestamp).</param>
    void Forwarded(IConnectionRequest request, int status, long bytes, string? servedBy, long started);
}

/// <summary>
/// What a node's Kestrel way in adds to each answer that does not have it, as the connection path writes it: Kestrel's
/// <c>Server</c> (when on) and <c>Date</c>, and headers added where missing (the web node's security headers).
/// </summary>
public sealed class ConnectionAnswerHeaders
{
    /// <param name="serverHeader">Whether Kestrel adds <c>Server: Kestrel</c> (its AddServerHeader).</param>
    /// <param name="added">Headers added to an answer that has none of that name (at most 60).</param>
    public ConnectionAnswerHeaders(bool serverHeader, IReadOnlyList<(string Name, string Value)> added)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(added.Count, 60);
        ServerHeader = serverHeader;
        Names = new byte[added.Count][];
        Lines = new byte[added.Count][];
        for (var i = 0; i < added.Count; i++)
        {
            Names[i] = System.Text.Encoding.ASCII.GetBytes(added[i].Name);
            Lines[i] = System.Text.Encoding.Latin1.GetBytes($"{added[i].Name}: {added[i].Value}\r\n");
            MaxLength += Lines[i].Length;
        }

        MaxLength += ServerLine.Length + 8 + HttpDate.Length;
    }

    /// <summary>Whether Kestrel adds its Server header.</summary>
    public bool ServerHeader { get; }

    internal static ReadOnlySpan<byte> ServerLine => "Server: Kestrel\r\n"u8;

    /// <summary>The added headers' names.</summary>
    internal byte[][] Names { get; }

    /// <summary>The added headers' lines, CRLF after each.</summary>
    internal byte[][] Lines { get; }

    /// <summary>The most these lines take.</summary>
    internal int MaxLength { get; }
}

/// <summary>
/// A plain request read on the connection path (GET or HEAD over HTTP/1.1, origin-form, visible ASCII: see
/// <c>RequestHead</c>), as a node's own content sees it, and the connection's socket to answer on. Every answer of a
/// connection with content goes straight to its socket, never through Kestrel's output pipe, so that awaiting each
/// write keeps the answers in order (a write to the pipe is sent later by Kestrel's own loop).
/// </summary>
public interface IConnectionRequest
{
    /// <summary>Whether the method is HEAD (else GET).</summary>
    bool IsHead { get; }

    /// <summary>The request-target as sent (path and query).</summary>
    ReadOnlySpan<byte> Target { get; }

    /// <summary>The target's path (up to its query).</summary>
    ReadOnlySpan<byte> Path { get; }

    /// <summary>Whether the path needs no decoding: no '%' and no dot segment, so it reads as Kestrel's decoded path.</summary>
    bool PlainPath { get; }

    /// <summary>Whether the request is conditional or asks for a range (If-*, Range).</summary>
    bool Conditional { get; }

    /// <summary>The Accept-Encoding value, empty when none.</summary>
    ReadOnlySpan<byte> AcceptEncoding { get; }

    /// <summary>The Referer value, empty when none.</summary>
    ReadOnlySpan<byte> Referer { get; }

    /// <summary>The User-Agent value, empty when none.</summary>
    ReadOnlySpan<byte> UserAgent { get; }

    /// <summary>The X-Forwarded-For value as sent, empty when none.</summary>
    ReadOnlySpan<byte> ForwardedFor { get; }

    /// <summary>The connection's other end.</summary>
    IPAddress? Peer { get; }

    /// <summary>Whether the node has routes, which come before its own content (they are Kestrel's way in's to apply).</summary>
    bool HasRoutes { get; }

    /// <summary>Whether the connection closes after this answer (the client asked, or the server stops): the answer says <c>Connection: close</c>.</summary>
    bool Closes { get; }

    /// <summary>The connection's own buffer for an answer, at least <paramref name="length"/> bytes; valid until the next call.</summary>
    Memory<byte> Buffer(int length);

    /// <summary>Sends <paramref name="bytes"/> on the connection; false when the client went away (the connection then closes).</summary>
    ValueTask<bool> SendAsync(ReadOnlyMemory<byte> bytes);

    /// <summary>Sends <paramref name="head"/> (in <see cref="Buffer"/>), then <paramref name="count"/> bytes of <paramref name="file"/> from <paramref name="offset"/> without copying them through user space (sendfile(2)); false when that failed.</summary>
    ValueTask<bool> SendFileAsync(Memory<byte> head, FileStream file, long offset, int count);
}
