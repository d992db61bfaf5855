using System.Text.Json.Nodes;
using Strata.Tests.Common;
using Strata.Topology;

namespace Strata.Tests.Topology;

/// <summary>The optional <c>app.command</c> section: the user's own application on the app tier.</summary>
public sealed class AppCommandValidationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("strata-appcmd-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Load_NoCommand_IsTheBuiltInApp()
    {
        Assert.Null(TopologyLoader.Load(Write(_ => { })).AppCommand);
    }

    [Fact]
    public void Load_Command_ResolvesPathsFromTheTopologyFile()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "site"));
        File.WriteAllText(Path.Combine(_dir, "site", "run.sh"), "#!/bin/sh\n");
        var path = Write(command =>
        {
            command["run"] = new JsonArray("site/run.sh", "--port", "x");
            command["healthPath"] = "/healthz";
            command["workingDirectory"] = "site";
            command["environment"] = new JsonObject { ["APP_MODE"] = "production" };
        });

        var spec = TopologyLoader.Load(path).AppCommand!;

        Assert.Equal([Path.Combine(_dir, "site", "run.sh"), "--port", "x"], spec.Run.ToArray());
        Assert.Equal("/healthz", spec.HealthPath);
        Assert.Equal(Path.Combine(_dir, "site"), spec.WorkingDirectory);
        Assert.Equal("production", spec.Environment["APP_MODE"]);
    }

    [Fact]
    public void Load_BareProgram_IsLeftForPathAndDefaultsApply()
    {
        var spec = TopologyLoader.Load(Write(command => command["run"] = new JsonArray("gunicorn", "app:app"))).AppCommand!;

        Assert.Equal(["gunicorn", "app:app"], spec.Run.ToArray());
        Assert.Equal("/", spec.HealthPath);
        Assert.Equal(_dir, spec.WorkingDirectory);
        Assert.Empty(spec.Environment);
    }

    [Theory]
    [InlineData("app.command.run", "must name the program and its arguments, e.g. [\"python3\", \"app.py\"]")]
    [InlineData("app.command.run[0]", "'{dir}/missing/app' does not exist")]
    [InlineData("app.command.healthPath", "'healthz' must start with '/'")]
    [InlineData("app.command.workingDirectory", "directory '{dir}/nowhere' does not exist")]
    [InlineData("app.command.environment.PORT", "is set by the app node")]
    [InlineData("app.command.environment.1X", "'1X' is not an environment variable name (letters, digits and '_', not starting with a digit)")]
    [InlineData("app.command.program", "unknown field")]
    public void Load_BadCommand_NamesTheFieldAndTheProblem(string field, string problem)
    {
        var path = Write(command =>
        {
            command["run"] = new JsonArray("python3", "app.py");
            switch (field)
            {
                case "app.command.run":
                    command["run"] = new JsonArray();
                    break;
                case "app.command.run[0]":
                    command["run"] = new JsonArray("missing/app");
                    break;
                case "app.command.healthPath":
                    command["healthPath"] = "healthz";
                    break;
                case "app.command.workingDirectory":
                    command["workingDirectory"] = "nowhere";
                    break;
                case "app.command.environment.PORT":
                    command["environment"] = new JsonObject { ["PORT"] = "80" };
                    break;
                case "app.command.environment.1X":
                    command["environment"] = new JsonObject { ["1X"] = "y" };
                    break;
                case "app.command.program":
                    command["program"] = "app.py";
                    break;
            }
        });

        var error = Assert.Single(Assert.Throws<TopologyException>(() => TopologyLoader.Load(path)).Errors);
        Assert.Equal((field, problem.Replace("{dir}", _dir, StringComparison.Ordinal)), (error.Field, error.Problem));
    }

    [Fact]
    public void Load_BenchmarkEndpoints_OffUnlessTurnedOn()
    {
        Assert.False(TopologyLoader.Load(Write(_ => { })).BenchmarkEndpoints);

        var root = TestTopology.DefaultJson();
        root["app"]!["benchmarkEndpoints"] = true;

        Assert.True(TopologyLoader.Load(TestTopology.Write(root, _dir)).BenchmarkEndpoints);
    }

    [Fact]
    public void Load_BenchmarkEndpointsWithOwnApp_Refused()
    {
        var root = TestTopology.DefaultJson();
        root["app"]!["benchmarkEndpoints"] = true;
        root["app"]!["command"] = new JsonObject { ["run"] = new JsonArray("python3", "app.py") };

        var error = Assert.Single(Assert.Throws<TopologyException>(() => TopologyLoader.Load(TestTopology.Write(root, _dir))).Errors);
        Assert.Equal(
            ("app.benchmarkEndpoints", "the benchmark endpoints are the built-in application's; they cannot be on with app.command"),
            (error.Field, error.Problem));
    }

    [Fact]
    public void Load_PythonExample_RunsAppPyInItsFolder()
    {
        var example = Path.Combine(TestTopology.RepositoryRoot, "examples", "python-app");

        var topology = TopologyLoader.Load(Path.Combine(example, "strata.json"));

        var spec = topology.AppCommand!;
        Assert.Equal(["python3", "app.py"], spec.Run.ToArray());
        Assert.Equal("/healthz", spec.HealthPath);
        Assert.Equal(example, spec.WorkingDirectory);
        Assert.Equal(Path.Combine(TestTopology.RepositoryRoot, "wwwroot"), topology.WebRoot);
        Assert.Equal(["app-1", "app-2"], topology.AppNodes.Select(n => n.Name));
    }

    private string Write(Action<JsonObject> change)
    {
        var root = TestTopology.DefaultJson();
        var command = new JsonObject();
        change(command);
        if (command.Count > 0)
        {
            root["app"]!["command"] = command;
        }

        return TestTopology.Write(root, _dir);
    }
}
