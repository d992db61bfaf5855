using Strata.Hosting.Logs;

namespace Strata.Web.AccessLog;

/// <summary>Turns an <see cref="AccessLogEntry"/> into one line of the access log. Runs on the writer, not per request.</summary>
internal interface IAccessLogFormat : ILogLineFormat<AccessLogEntry>
{
    /// <summary>The name in the topology: web.accessLog.format.</summary>
    string Name { get; }
}
