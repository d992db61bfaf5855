using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Strata.Dns;
using Strata.Dns.Server;
using Strata.Hosting.Processes;
using Strata.Tests.Common;

namespace Strata.Tests.Dns;

public class DnsNodeLifecycleTests
{
    [Fact]
    public async Task StartAsync_UdpPortTaken_ThrowsBindExceptionNamingAddress()
    {
        var port = FreePorts.TcpAndUdp();
        using var squatter = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        squatter.Bind(new IPEndPoint(IPAddress.Loopback, port));
        var app = DnsNode.Build(DnsTestTopology.Create(new IPEndPoint(IPAddress.Loopback, port)));
        try
        {
            var ex = await Assert.ThrowsAsync<DnsBindException>(() => app.StartAsync());

            Assert.Contains($"127.0.0.1:{port}", ex.Message, StringComparison.Ordinal);
            Assert.Equal(new IPEndPoint(IPAddress.Loopback, port), ex.Address);
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task StartAsync_TcpPortTaken_ThrowsAndReleasesUdp()
    {
        var port = FreePorts.TcpAndUdp();
        using var squatter = new TcpListener(IPAddress.Loopback, port);
        squatter.Start();
        var app = DnsNode.Build(DnsTestTopology.Create(new IPEndPoint(IPAddress.Loopback, port)));
        try
        {
            var ex = await Assert.ThrowsAsync<DnsBindException>(() => app.StartAsync());
            Assert.Contains($"127.0.0.1:{port}", ex.Message, StringComparison.Ordinal);

            // The UDP socket bound before TCP failed must not stay behind.
            using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Loopback, port));
        }
        finally
        {
            await app.DisposeAsync();
            squatter.Stop();
        }
    }

    [Fact]
    public async Task StopAsync_AfterStart_ReleasesBothPorts()
    {
        var port = FreePorts.TcpAndUdp();
        var app = DnsNode.Build(DnsTestTopology.Create(new IPEndPoint(IPAddress.Loopback, port)));
        try
        {
            await app.StartAsync();
            await app.StopAsync();
        }
        finally
        {
            await app.DisposeAsync();
        }

        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udp.Bind(new IPEndPoint(IPAddress.Loopback, port));
        using var tcp = new TcpListener(IPAddress.Loopback, port);
        tcp.Start();
        tcp.Stop();
    }

    [Fact]
    public async Task StartAsync_Always_LogsStartOnceWithZoneAndAddress()
    {
        var port = FreePorts.TcpAndUdp();
        var app = DnsNode.Build(DnsTestTopology.Create(new IPEndPoint(IPAddress.Loopback, port)));
        var logs = new CollectingLoggerProvider(LogLevel.Information);
        app.Services.GetRequiredService<ILoggerFactory>().AddProvider(logs);
        try
        {
            await app.StartAsync();
            await Dig.QueryAsync(port, "www.foobar.com", "A", "+short");
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        var dnsLines = logs.Messages.Where(m => m.StartsWith("DNS ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(
            [$"DNS dns authoritative for foobar.com on 127.0.0.1:{port} (UDP+TCP)", $"DNS dns stopped listening on 127.0.0.1:{port}"],
            dnsLines);
    }
}
