using System.Net;
using Microsoft.AspNetCore.Builder;
using Strata.Dns;
using Strata.Hosting;
using Strata.Hosting.Processes;
using Strata.Tests.Common;

namespace Strata.Tests.Dns;

/// <summary>One real DNS node on loopback, started once for a test class and stopped after it.</summary>
public sealed class DnsNodeFixture : IAsyncLifetime
{
    private WebApplication? _app;

    public int Port { get; private set; }

    public Uri ManagementUrl { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Port = FreePorts.TcpAndUdp();
        _app = DnsNode.Build(DnsTestTopology.Create(new IPEndPoint(IPAddress.Loopback, Port)));
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
