using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Strata.Hosting;
using Strata.Topology;

namespace Strata.App.Diagnostics;

/// <summary>
/// The client's address and scheme as the proxies in front wrote them (X-Forwarded-For/-Proto), read right to left
/// while each hop is one of them (nginx's <c>real_ip_recursive</c>), by ASP.NET's ForwardedHeaders middleware: a
/// request that came over HTTPS is HTTPS here (the antiforgery cookie is then Secure), and a client's own claims count
/// only from a trusted proxy. Nothing else is known, not even loopback (ASP.NET's default): on one machine a client is
/// on loopback too. With none known ASP.NET would believe anyone, so then nothing is read.
/// </summary>
/// <remarks>
/// The proxies in front change when a tier is scaled (<c>strata scale web=3</c>): on each topology reload the
/// middleware is built again with the new ones and swapped in, as ASP.NET's reads its options once.
/// </remarks>
internal sealed class ForwardedClients(Topology.Topology topology, ILoggerFactory loggers) : ITopologyReloadTarget
{
    private volatile RequestDelegate? _current;
    private RequestDelegate _next = _ => Task.CompletedTask;

    /// <summary>The middleware: the current ForwardedHeaders instance, then <paramref name="next"/>.</summary>
    public RequestDelegate Middleware(RequestDelegate next)
    {
        _next = next;
        _current = Build(topology);
        return context => _current!(context);
    }

    public void Apply(Topology.Topology reloaded) => _current = Build(reloaded);

    private RequestDelegate Build(Topology.Topology source)
    {
        var proxies = source.ProxiesInFront(NodeRole.App).Networks;
        var options = new ForwardedHeadersOptions
        {
            ForwardedHeaders = proxies.IsEmpty ? ForwardedHeaders.None : ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto,
            ForwardLimit = null,
        };
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
#pragma warning disable ASPDEPR005 // Obsolete, but still consulted: it holds loopback by default too.
        options.KnownNetworks.Clear();
#pragma warning restore ASPDEPR005
        foreach (var proxy in proxies)
        {
            options.KnownIPNetworks.Add(proxy);
        }

        return new ForwardedHeadersMiddleware(_next, loggers, Options.Create(options)).Invoke;
    }
}
