namespace Strata.Data.Bench;

/// <summary>One row of the TechEmpower benchmarks' Fortune table.</summary>
/// <param name="Id">The row's id.</param>
/// <param name="Message">The fortune, as stored (not escaped).</param>
public sealed record Fortune(int Id, string Message);
