namespace Strata.Data.Bench;

/// <summary>One row of the TechEmpower benchmarks' World table.</summary>
/// <param name="Id">The row's id, 1 to 10000.</param>
/// <param name="RandomNumber">Its number, 1 to 10000.</param>
public readonly record struct World(int Id, int RandomNumber);
