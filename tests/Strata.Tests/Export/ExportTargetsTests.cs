using Strata.Export;

namespace Strata.Tests.Export;

/// <summary>What holds for every target of <see cref="ExportTargets"/>.</summary>
public sealed class ExportTargetsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("strata-export-targets-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Export_EveryTargetTwice_SameBytes()
    {
        foreach (var target in ExportTargets.All)
        {
            var first = ExportTools.Files(target, ExportTools.Load(_dir), _dir, workers: 2);
            var second = ExportTools.Files(target, ExportTools.Load(_dir), _dir, workers: 2);

            Assert.Equal(first, second);
        }
    }

    [Fact]
    public void Export_UnknownTarget_ThrowsListingTheTargets()
    {
        var error = Assert.Throws<ArgumentException>(() => ExportTargets.Export("apache", ExportTools.Load(_dir), new ExportSettings(_dir)));

        Assert.Contains("the targets are: haproxy, nginx, keepalived, prometheus", error.Message, StringComparison.Ordinal);
    }
}
