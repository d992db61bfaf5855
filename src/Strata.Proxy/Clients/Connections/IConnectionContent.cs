using System.Net;

namespace Strata.Proxy.Clients.Connections;

/// <summary>
/// A node's own content served on the connection path (<see cref="ConnectionForwarder"/>) ahead of forwarding: the web
/// node's files. Registered as a service of a forwarding node; the load balancer has none.
/// </summary>
public interface IConnectionContent
{
    /// <summary>
    /// Starts answering <paramref name="request"/> on its connection, or returns null, having written nothing, to leave it to
    /// the rest of the path (forwarded, or handed to Kestrel unread with the rest of the connection).
    /// </summary>
    /// <remarks>Decides synchronously: the request's spans are valid until the returned task ends.</remarks>
    ValueTask? TryServe(IConnectionRequest request);
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
