using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Strata.Dns;
using Strata.Dns.RateLimiting;
using Strata.Hosting;
using Strata.Hosting.Processes;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.Dns;

/// <summary>
/// One real DNS node on loopback, as users run it (rate limiting on, with the defaults unless a subclass says
/// otherwise), started once for a test class and stopped after it. Its log lines, Debug included, are kept.
/// </summary>
public class DnsNodeFixture : IAsyncLifetime
{
    private WebApplication? _app;

    public int Port { get; private set; }

    public Uri ManagementUrl { get; private set; } = null!;

    internal CollectingLoggerProvider Logs { get; } = new(LogLevel.Debug);

    internal ResponseRateLimiter Limiter => _app!.Services.GetRequiredService<ResponseRateLimiter>();

    protected virtual DnsRateLimitSpec RateLimit => DnsRateLimitSpec.Default;

    public async Task InitializeAsync()
    {
        Port = FreePorts.TcpAndUdp();
        var topology = DnsTestTopology.Create(new IPEndPoint(IPAddress.Loopback, Port)) with { DnsRateLimit = RateLimit };
        _app = DnsNode.Build(topology);
        _app.Services.GetRequiredService<ILoggerFactory>().AddProvider(Logs);
        await _app.StartAsync();
        ManagementUrl = Assert.Single(_app.BoundAddresses());
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
