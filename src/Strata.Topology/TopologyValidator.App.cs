using System.Collections.Immutable;
using System.Text.RegularExpressions;

namespace Strata.Topology;

/// <summary>The checks of the app section: the built-in application or the user's own.</summary>
internal sealed partial class TopologyValidator
{
    private bool BenchmarkEndpoints(AppTierOptions? app, AppCommandSpec? command)
    {
        if (app?.BenchmarkEndpoints is not true)
        {
            return false;
        }

        if (command is not null)
        {
            Error("app.benchmarkEndpoints", "the benchmark endpoints are the built-in application's; they cannot be on with app.command");
        }

        return true;
    }

    private AppCommandSpec? AppCommand(AppCommandOptions? command)
    {
        if (command is null)
        {
            return null;
        }

        const string Field = "app.command";
        if (command.Run is not { Count: > 0 } run || string.IsNullOrWhiteSpace(run[0]))
        {
            Error($"{Field}.run", "must name the program and its arguments, e.g. [\"python3\", \"app.py\"]");
            return null;
        }

        var program = run[0];
        if (program.Contains('/', StringComparison.Ordinal))
        {
            program = Path.GetFullPath(Path.Combine(_baseDirectory, program));
            if (!File.Exists(program))
            {
                Error($"{Field}.run[0]", $"'{program}' does not exist");
            }
        }

        var healthPath = command.HealthPath ?? "/";
        if (!healthPath.StartsWith('/'))
        {
            Error($"{Field}.healthPath", $"'{healthPath}' must start with '/'");
        }

        var directory = Path.GetFullPath(Path.Combine(_baseDirectory, command.WorkingDirectory ?? "."));
        if (!Directory.Exists(directory))
        {
            Error($"{Field}.workingDirectory", $"directory '{directory}' does not exist");
        }

        var environment = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in command.Environment ?? new Dictionary<string, string>())
        {
            if (!EnvironmentNameRegex().IsMatch(name))
            {
                Error($"{Field}.environment.{name}", $"'{name}' is not an environment variable name (letters, digits and '_', not starting with a digit)");
            }
            else if (AppCommandSpec.ReservedVariables.Contains(name, StringComparer.Ordinal))
            {
                Error($"{Field}.environment.{name}", "is set by the app node");
            }
            else
            {
                environment[name] = value ?? "";
            }
        }

        return new AppCommandSpec([program, .. run.Skip(1)], healthPath, directory, environment.ToImmutable());
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvironmentNameRegex();
}
