using System.IO.Pipelines;

namespace Strata.Proxy.Forwarding.Http1;

/// <summary>
/// The client's side of an exchange of <see cref="Http1Forwarder"/>: Kestrel's parsed request and response, or a
/// client connection served below Kestrel's HTTP layer (<see cref="ConnectionForwarder"/>).
/// </summary>
internal interface IForwardingClient
{
    /// <summary>The request's method.</summary>
    string Method { get; }

    /// <summary>Cancelled when the client goes away (none when that is only noticed on the next write).</summary>
    CancellationToken Aborted { get; }

    /// <summary>Where the response body goes.</summary>
    PipeWriter Body { get; }

    /// <summary>Whether a chunked body is relayed with its framing (true) or as data that the writer frames itself.</summary>
    bool RelaysChunkFraming { get; }

    /// <summary>Writes the request line and headers into <paramref name="connection"/>'s head buffer; returns the length.</summary>
    int WriteRequestHead(Http1Connection connection);

    /// <summary>The status of the server's final answer (before any of it is relayed, and also when it is discarded).</summary>
    void SetStatus(int status);

    /// <summary>Starts the response from <paramref name="connection"/>'s parsed head (still buffered); its body, if any, follows into <see cref="Body"/>.</summary>
    void StartResponse(Http1Connection connection, bool noBody);

    /// <summary>The answer's body has been relayed whole: <paramref name="bytes"/> bytes of data (chunk framing not counted), for the access log.</summary>
    void Relayed(long bytes);

    /// <summary>Breaks the client's connection: the response was started and cannot be finished.</summary>
    void Abort();
}
