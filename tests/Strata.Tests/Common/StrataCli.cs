namespace Strata.Tests.Common;

/// <summary>Runs the real strata executable (the build beside the tests) as a user would.</summary>
internal static class StrataCli
{
    private static readonly string Assembly = Path.Combine(AppContext.BaseDirectory, "Strata.dll");

    /// <summary>The dotnet host that runs the tests, so the executable runs on the same runtime.</summary>
    private static readonly string Dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH")
        ?? ChildProcess.FindOnPath("dotnet")
        ?? throw new InvalidOperationException("dotnet is not on PATH");

    public static Task<ProcessResult> RunAsync(TimeSpan timeout, params string[] arguments) =>
        ChildProcess.RunAsync(Dotnet, [Assembly, .. arguments], timeout);

    public static Task<ProcessResult> RunAsync(params string[] arguments) => RunAsync(TimeSpan.FromSeconds(60), arguments);

    /// <summary>Runs it with <paramref name="directory"/> first on its PATH, where a test puts a stand-in for a program it runs.</summary>
    public static Task<ProcessResult> RunWithPathFirstAsync(string directory, TimeSpan timeout, params string[] arguments) =>
        ChildProcess.RunAsync("/usr/bin/env", [$"PATH={directory}:{Environment.GetEnvironmentVariable("PATH")}", Dotnet, Assembly, .. arguments], timeout);

    /// <summary>Starts a command that runs until stopped (a foreground <c>up</c>, <c>logs -f</c>), its output captured.</summary>
    public static ForegroundServer Start(params string[] arguments) => ForegroundServer.Start(Dotnet, [Assembly, .. arguments]);
}
