using System.CommandLine;
using System.Security.Cryptography;
using Strata.Export;
using Strata.Hosting.Tls;

namespace Strata.Cli;

/// <summary>
/// <c>strata export haproxy|nginx|keepalived|prometheus [-f strata.json] [-o DIR] [--workers N]</c>: the classic stack's
/// configuration for the same topology (and Prometheus's scrape configuration for it), written to DIR (default <c>./export</c>), one line per file on stdout.
/// An unknown target is a usage error (2) listing the targets.
/// </summary>
internal static class ExportCommand
{
    public const string DefaultDirectory = "export";

    public static Command Create(Option<FileInfo> fileOption)
    {
        var target = new Argument<string>("target") { Description = $"What to write: {string.Join(", ", ExportTargets.All)}" };
        var output = new Option<DirectoryInfo>("--output", "-o")
        {
            Description = "The folder the files go to (created if missing)",
            DefaultValueFactory = _ => new DirectoryInfo(DefaultDirectory),
        };
        var workers = new Option<int?>("--workers") { Description = "nginx's worker_processes and HAProxy's nbthread (default: one per CPU)" };
        var command = new Command("export", "Write HAProxy, nginx, keepalived or Prometheus configuration for the same topology") { target, fileOption, output, workers };
        command.SetAction(parse =>
        {
            var name = parse.GetValue(target)!;
            if (!ExportTargets.IsTarget(name))
            {
                return StrataCommandLine.Usage($"unknown export target '{name}'; the targets are: {string.Join(", ", ExportTargets.All)}");
            }

            if (parse.GetValue(workers) is < 1)
            {
                return StrataCommandLine.Usage("--workers: must be at least 1");
            }

            if (StrataCommandLine.LoadTopology(parse) is not { } topology)
            {
                return StrataCommandLine.UsageError;
            }

            var directory = parse.GetValue(output)!.FullName;
            IReadOnlyList<ExportedFile> files;
            try
            {
                if (topology.VipTls is { Generate: true } tls)
                {
                    // As strata up does: the local CA's certificate is made the first time, so HAProxy gets the same one.
                    LocalCertificateAuthority.Ensure(topology, tls);
                }

                files = ExportTargets.Export(name, topology, new ExportSettings(directory, parse.GetValue(workers)));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
            {
                Console.Error.WriteLine($"strata: {ex.Message}");
                return 1;
            }

            try
            {
                Directory.CreateDirectory(directory);
                if (string.Equals(name, ExportTargets.Nginx, StringComparison.OrdinalIgnoreCase))
                {
                    // nginx creates neither its log folder nor the parents of its temporary folders.
                    Directory.CreateDirectory(Path.Combine(directory, "logs"));
                    Directory.CreateDirectory(Path.Combine(directory, "tmp"));
                }

                foreach (var file in files)
                {
                    Console.WriteLine(file.WriteTo(directory));
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"strata: cannot write to {directory}: {ex.Message}");
                return 1;
            }

            return 0;
        });
        return command;
    }
}
