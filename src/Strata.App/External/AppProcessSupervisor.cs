using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Strata.Data;
using Strata.Hosting;
using Strata.Hosting.Processes;
using Strata.Topology;
using TopologyModel = Strata.Topology.Topology;

namespace Strata.App.External;

/// <summary>
/// Runs the user's application as a child process on a free loopback port and keeps it running: when it exits it
/// is started again after a back-off (1 s, 2 s, 4 s … 30 s; back to 1 s once a run lasted 60 s), each exit logged
/// once with its code. On stop, after the node has finished its requests, the child gets SIGTERM and, 5 s later,
/// SIGKILL — always by its own PID. The child is started through <see cref="ChildProcesses"/>, so the kernel kills
/// it when the node dies without a stop (SIGKILL, a crash) and it is never left running, orphaned, on its port.
/// </summary>
internal sealed partial class AppProcessSupervisor(
    AppCommandSpec command,
    TopologyModel topology,
    NodeSpec node,
    TimeProvider time,
    ILogger<AppProcessSupervisor> logger) : BackgroundService, IHostedLifecycleService
{
    /// <summary>The first back-off; doubled on each quick exit.</summary>
    public static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(1);

    /// <summary>The longest back-off.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    /// <summary>A run this long resets the back-off.</summary>
    public static readonly TimeSpan StableRun = TimeSpan.FromSeconds(60);

    /// <summary>Between SIGTERM and SIGKILL on stop.</summary>
    public static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan HealthTimeout = TimeSpan.FromSeconds(1);

    private readonly HttpClient _health = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { Timeout = HealthTimeout };
    private volatile Running? _running;

    /// <summary>Base URL of the running application (http://127.0.0.1:PORT/), or null while it is not running.</summary>
    public Uri? Destination => _running?.Url;

    /// <summary>PID of the running application, or null.</summary>
    public int? ProcessId => _running?.Process.Id;

    /// <summary>Asks the application for its health path now.</summary>
    public async Task<ReadinessResult> CheckHealthAsync(CancellationToken cancellationToken)
    {
        if (_running is not { } running)
        {
            return new ReadinessResult(false, "the application is not running");
        }

        try
        {
            using var response = await _health.GetAsync(new Uri(running.Url, command.HealthPath), cancellationToken);
            var status = (int)response.StatusCode;
            return new ReadinessResult(
                status is >= 200 and < 300,
                $"pid {running.Process.Id} answered {command.HealthPath} with HTTP {status}");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new ReadinessResult(false, $"pid {running.Process.Id} does not answer {command.HealthPath}: {ex.Message}");
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var backoff = FirstBackoff;
        while (!stoppingToken.IsCancellationRequested)
        {
            var started = time.GetTimestamp();
            var process = await StartAsync();
            if (process is not null)
            {
                try
                {
                    await process.WaitForExitAsync(stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    // Stopping: the child is stopped once the node has finished its requests (StoppedAsync).
                    return;
                }

                _running = null;
                var ran = time.GetElapsedTime(started);
                LogExited(node.Name, process.Id, process.ExitCode, ran.TotalSeconds);
                process.Dispose();
                if (ran >= StableRun)
                {
                    backoff = FirstBackoff;
                }
            }

            LogRestarting(node.Name, backoff.TotalSeconds);
            try
            {
                await Task.Delay(backoff, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>After Kestrel has drained: SIGTERM to the child, SIGKILL after <see cref="StopGrace"/>.</summary>
    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _running, null) is not { } running)
        {
            return;
        }

        var process = running.Process;
        try
        {
            if (await ChildProcesses.StopAsync(process, StopGrace, time))
            {
                LogKilled(node.Name, process.Id, StopGrace.TotalSeconds);
            }

            LogStopped(node.Name, process.Id, process.ExitCode);
        }
        finally
        {
            process.Dispose();
        }
    }

    public override void Dispose()
    {
        // Disposed without a stop (a failed start): never leave the child behind.
        if (Interlocked.Exchange(ref _running, null) is { } running)
        {
            try
            {
                running.Process.Kill(entireProcessTree: false);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }

            running.Process.Dispose();
        }

        _health.Dispose();
        base.Dispose();
    }

    private async Task<Process?> StartAsync()
    {
        var port = FreePorts.Tcp();
        ProcessStartInfo startInfo;
        try
        {
            startInfo = ChildProcesses.CreateStartInfo(command.Run[0], command.Run.Skip(1));
        }
        catch (Win32Exception ex)
        {
            LogStartFailed(node.Name, command.Run[0], ex.Message);
            return null;
        }

        startInfo.WorkingDirectory = command.WorkingDirectory;
        startInfo.RedirectStandardInput = true;
        startInfo.RedirectStandardOutput = true;
        startInfo.RedirectStandardError = true;
        // The node's admin token is not the application's: one that prints its environment must not show it
        // (app.command.environment may still give it one).
        startInfo.Environment.Remove(AdminOptions.TokenEnvironmentVariable);
        foreach (var (name, value) in command.Environment)
        {
            startInfo.Environment[name] = value;
        }

        startInfo.Environment["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        startInfo.Environment["HOST"] = IPAddress.Loopback.ToString();
        (startInfo.Environment["DATABASE_URL"], startInfo.Environment["STRATA_DATABASE"]) = DatabaseEnvironment.For(topology.Database);

        var process = new Process { StartInfo = startInfo };
        process.OutputDataReceived += (_, e) => Relay(e.Data);
        process.ErrorDataReceived += (_, e) => Relay(e.Data);
        try
        {
            await ChildProcesses.StartAsync(process);
        }
        catch (Win32Exception ex)
        {
            process.Dispose();
            LogStartFailed(node.Name, command.Run[0], ex.Message);
            return null;
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _running = new Running(process, new Uri($"http://127.0.0.1:{port}/"));
        LogStarted(node.Name, process.Id, string.Join(' ', command.Run), port);
        return process;
    }

    /// <summary>The child's lines go to the node's stdout (its log), marked with the node's name.</summary>
    private void Relay(string? line)
    {
        if (line is not null)
        {
            Console.Out.WriteLine($"{node.Name} app| {line}");
        }
    }

    private sealed record Running(Process Process, Uri Url);


    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "{Node} started the application (pid {Pid}): {Command} on 127.0.0.1:{Port}")]
    private partial void LogStarted(string node, int pid, string command, int port);

    [LoggerMessage(EventId = 21, Level = LogLevel.Warning, Message = "{Node} application (pid {Pid}) exited with code {ExitCode} after {Seconds:0.0} s")]
    private partial void LogExited(string node, int pid, int exitCode, double seconds);

    [LoggerMessage(EventId = 22, Level = LogLevel.Information, Message = "{Node} restarting the application in {Seconds} s")]
    private partial void LogRestarting(string node, double seconds);

    [LoggerMessage(EventId = 23, Level = LogLevel.Error, Message = "{Node} cannot start the application '{Program}': {Reason}")]
    private partial void LogStartFailed(string node, string program, string reason);

    [LoggerMessage(EventId = 24, Level = LogLevel.Warning, Message = "{Node} application (pid {Pid}) still running {Seconds} s after SIGTERM: SIGKILL")]
    private partial void LogKilled(string node, int pid, double seconds);

    [LoggerMessage(EventId = 25, Level = LogLevel.Information, Message = "{Node} application (pid {Pid}) stopped with code {ExitCode}")]
    private partial void LogStopped(string node, int pid, int exitCode);
}
