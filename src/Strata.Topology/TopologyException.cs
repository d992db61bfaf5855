namespace Strata.Topology;

/// <summary>One problem found in a topology file.</summary>
/// <param name="Field">Path of the field, e.g. web.nodes[1].address.</param>
/// <param name="Problem">What is wrong with it.</param>
public sealed record TopologyError(string Field, string Problem)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Field}: {Problem}";
}

/// <summary>A topology file that cannot be used; the message has one line per error.</summary>
public sealed class TopologyException(string sourcePath, IReadOnlyList<TopologyError> errors)
    : Exception(string.Join(Environment.NewLine, errors.Select(e => $"{sourcePath}: {e}")))
{
    /// <summary>The file that was read.</summary>
    public string SourcePath { get; } = sourcePath;

    /// <summary>Every error found, in file order.</summary>
    public IReadOnlyList<TopologyError> Errors { get; } = errors;
}
