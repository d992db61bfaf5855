using System.CommandLine;
using Strata.Export;

namespace Strata.Cli;

/// <summary><c>strata export haproxy|nginx|keepalived [-f FILE] [-o DIR]</c>: the topology as the classic stack's files.</summary>
internal static class ExportCommand
{
    public static Command Create(Option<FileInfo> fileOption)
    {
        var target = new Argument<string>("target") { Description = $"What to write: {string.Join(", ", ClassicExport.Targets)}" };
        var output = new Option<DirectoryInfo>("--output", "-o")
        {
            Description = "The folder to write into (created if missing)",
            DefaultValueFactory = _ => new DirectoryInfo("export"),
        };
        var command = new Command("export", "Write the topology as HAProxy, nginx or keepalived configuration (docs/export.md)") { target, fileOption, output };
        command.SetAction(parse =>
        {
            var name = parse.GetValue(target)!;
            if (!ClassicExport.Targets.Contains(name))
            {
                return StrataCommandLine.Usage($"'{name}' is not an export target; the targets are: {string.Join(", ", ClassicExport.Targets)}");
            }

            if (StrataCommandLine.LoadTopology(parse) is not { } topology)
            {
                return StrataCommandLine.UsageError;
            }

            var directory = parse.GetValue(output)!.FullName;
            Directory.CreateDirectory(directory);
            foreach (var folder in ClassicExport.Folders(topology, name, directory))
            {
                Directory.CreateDirectory(folder);
            }
            foreach (var (file, text) in ClassicExport.Files(topology, name, directory))
            {
                var path = Path.Combine(directory, file);
                File.WriteAllText(path, text);
                Console.WriteLine(path);
            }

            return 0;
        });
        return command;
    }
}
