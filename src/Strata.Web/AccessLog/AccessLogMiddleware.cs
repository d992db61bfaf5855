using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Strata.Hosting.Logs;
using Strata.Hosting.WarmUp;
using Strata.Proxy.Forwarding;
using Strata.Topology;

namespace Strata.Web.AccessLog;

/// <summary>
/// Captures an <see cref="AccessLogEntry"/> for every request that reaches the pipeline (static files, forwarded
/// requests and errors alike) and hands it to the <see cref="LogFileWriter{TEntry}"/>; nothing is formatted or written here.
/// </summary>
internal sealed class AccessLogMiddleware(RequestDelegate next, LogFileWriter<AccessLogEntry> writer, string nodeName, TrustedPeers proxies, TimeProvider time, NodeWarmUp? warmUp = null)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var started = time.GetTimestamp();
        var original = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        var body = new CountingResponseBodyFeature(original);
        context.Features.Set<IHttpResponseBodyFeature>(body);
        var failed = false;
        try
        {
            await next(context);
        }
        catch
        {
            failed = true;
            throw;
        }
        finally
        {
            context.Features.Set(original);
            var request = context.Request;
            var response = context.Response;
            var servedBy = response.Headers[UpstreamForwarder.ServedByHeader].ToString();
            var entry = new AccessLogEntry(
                time.GetUtcNow(),
                context.Connection.RemoteIpAddress,
                request.Headers["X-Forwarded-For"].ToString(),
                request.Method,
                context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.Path.Value ?? "/",
                request.Protocol,
                // An exception before the response started becomes Kestrel's 500.
                failed && !response.HasStarted ? StatusCodes.Status500InternalServerError : response.StatusCode,
                HttpMethods.IsHead(request.Method) ? 0 : body.Bytes,
                request.Headers.Referer.ToString(),
                request.Headers.UserAgent.ToString(),
                time.GetElapsedTime(started),
                servedBy.Length == 0 || servedBy == nodeName ? null : servedBy,
                proxies);
            // The node's warm-up requests (NodeWarmUp) are formatted, so the code is compiled before a client's, and not logged.
            writer.TryWrite(entry, warmUp: warmUp?.IsOwn(request) == true);
        }
    }
}
