using System.Buffers;

namespace Strata.Web.AccessLog;

/// <summary>Turns an <see cref="AccessLogEntry"/> into one line of the access log. Runs on the writer, not per request.</summary>
internal interface IAccessLogFormat
{
    /// <summary>The name in the topology: web.accessLog.format.</summary>
    string Name { get; }

    /// <summary>Appends the line for <paramref name="entry"/>, with its newline, as UTF-8.</summary>
    void Write(in AccessLogEntry entry, IBufferWriter<byte> output);
}
