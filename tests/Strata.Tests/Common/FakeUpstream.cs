using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Strata.Tests.Common;

/// <summary>
/// A real Kestrel server on 127.0.0.1:0 standing in for a web or app node: /readyz answers 200 (or 503 after
/// <see cref="Ready"/> is set false), every other path answers "NAME PATH" with X-Served-By and echoes the
/// forwarding headers it received.
/// </summary>
internal sealed class FakeUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeUpstream(string name, WebApplication app)
    {
        Name = name;
        _app = app;
    }

    public string Name { get; }

    public bool Ready { get; set; } = true;

    /// <summary>Replaces the normal answer (after counting the request and setting X-Served-By), e.g. to fail or stall.</summary>
    public Func<HttpContext, Task>? Behavior { get; set; }

    /// <summary>The headers of the last request other than /readyz.</summary>
    public IHeaderDictionary? LastHeaders { get; private set; }

    public Uri Url => new(_app.Urls.First());

    public int Requests;

    public static async Task<FakeUpstream> StartAsync(string name)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var upstream = new FakeUpstream(name, app);
        app.Run(async context =>
        {
            if (context.Request.Path == "/readyz")
            {
                context.Response.StatusCode = upstream.Ready ? 200 : 503;
                return;
            }

            Interlocked.Increment(ref upstream.Requests);
            upstream.LastHeaders = new HeaderDictionary(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value));
            context.Response.Headers["X-Served-By"] = name;
            if (upstream.Behavior is { } behavior)
            {
                await behavior(context);
                return;
            }

            context.Response.Headers["X-Seen-Via"] = context.Request.Headers.Via.ToString();
            context.Response.Headers["X-Seen-Forwarded-For"] = context.Request.Headers["X-Forwarded-For"].ToString();
            await context.Response.WriteAsync($"{name} {context.Request.Path}");
        });
        await app.StartAsync();
        return upstream;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
