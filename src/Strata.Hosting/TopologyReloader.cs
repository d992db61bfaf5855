using System.Runtime.InteropServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Strata.Topology;

namespace Strata.Hosting;

/// <summary>Something a running node can change without a restart when the topology file changes.</summary>
public interface ITopologyReloadTarget
{
    /// <summary>Applies the new, already validated, topology.</summary>
    void Apply(Topology.Topology topology);
}

/// <summary>
/// Reloads the topology when its file changes or the process gets SIGHUP (as HAProxy and nginx reload): the file
/// is validated first, and a file with errors is refused, logged once, and the node keeps running as it was.
/// </summary>
internal sealed partial class TopologyReloader(
    Topology.Topology initial,
    IEnumerable<ITopologyReloadTarget> targets,
    ILogger<TopologyReloader> logger) : BackgroundService
{
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(250);

    private readonly SemaphoreSlim _changed = new(0);
    private string? _lastText;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var path = initial.SourcePath;
        if (!File.Exists(path))
        {
            return;
        }

        _lastText = await File.ReadAllTextAsync(path, stoppingToken);
        using var watcher = new FileSystemWatcher(Path.GetDirectoryName(path)!, Path.GetFileName(path))
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size,
        };
        watcher.Changed += (_, _) => _changed.Release();
        watcher.Created += (_, _) => _changed.Release();
        watcher.Renamed += (_, _) => _changed.Release();
        watcher.EnableRaisingEvents = true;
        using var hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            // SIGHUP reloads instead of ending the process.
            context.Cancel = true;
            _lastText = null;
            _changed.Release();
        });

        try
        {
            while (true)
            {
                await _changed.WaitAsync(stoppingToken);
                // Editors write a file in several steps: wait for the last one.
                await Task.Delay(Debounce, stoppingToken);
                while (_changed.CurrentCount > 0)
                {
                    await _changed.WaitAsync(stoppingToken);
                }

                Reload(path);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override void Dispose()
    {
        _changed.Dispose();
        base.Dispose();
    }

    private void Reload(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (IOException ex)
        {
            LogRefused(path, ex.Message);
            return;
        }

        if (text == _lastText)
        {
            return;
        }

        _lastText = text;
        try
        {
            var topology = TopologyLoader.Parse(text, path);
            if (initial.DatabaseChoice is { } engine)
            {
                // Started with --db: the database stays the one chosen then.
                topology = ManagedDatabase.Choose(topology, engine);
            }

            if (initial.InNetns)
            {
                // A node of 'strata up --netns' lives at its layout address, not the one written in the file.
                topology = NetnsLayout.Apply(topology);
            }

            foreach (var target in targets)
            {
                target.Apply(topology);
            }

            LogReloaded(path);
        }
        catch (TopologyException ex)
        {
            LogRefused(path, string.Join("; ", ex.Errors));
        }
        catch (InvalidOperationException ex) when (initial.InNetns)
        {
            // The file is valid but does not fit the --netns layout (a tier larger than its block of addresses).
            LogRefused(path, ex.Message);
        }
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "reloaded {Path}")]
    private partial void LogReloaded(string path);

    [LoggerMessage(EventId = 21, Level = LogLevel.Error, Message = "reload of {Path} refused, running as before: {Errors}")]
    private partial void LogRefused(string path, string errors);
}

/// <summary>Registers the reloader.</summary>
public static class TopologyReloadExtensions
{
    /// <summary>Reloads <paramref name="topology"/>'s file on change or SIGHUP and hands it to every <see cref="ITopologyReloadTarget"/>.</summary>
    public static IServiceCollection AddTopologyReload(this IServiceCollection services, Topology.Topology topology) =>
        services.AddHostedService(sp => new TopologyReloader(
            topology, sp.GetServices<ITopologyReloadTarget>(), sp.GetRequiredService<ILogger<TopologyReloader>>()));
}
