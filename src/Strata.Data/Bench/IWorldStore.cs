namespace Strata.Data.Bench;

/// <summary>
/// The TechEmpower Framework Benchmarks' tables (World, Fortune), independent of the database engine. The tables and
/// their rows come from their schema migrations, which <see cref="InitializeAsync"/> applies when an app node with the
/// benchmark endpoints starts (after the guestbook's). Every method opens its own connection, so one instance is safe
/// to share across requests.
/// </summary>
/// <remarks>Failures of the database itself surface as <see cref="System.Data.Common.DbException"/>.</remarks>
public interface IWorldStore
{
    /// <summary>Creates and seeds the tables if they are missing (once, whoever else is trying: the migration history).</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>The World row with this id, read by one query.</summary>
    /// <exception cref="KeyNotFoundException">There is no such row.</exception>
    Task<World> GetWorldAsync(int id, CancellationToken cancellationToken);

    /// <summary>
    /// The World rows with these ids, in the same order, each read by a query of its own (as the benchmark's
    /// multiple-queries test requires), over one connection. The caller chooses the ids, so tests can.
    /// </summary>
    /// <exception cref="KeyNotFoundException">One of the ids has no row.</exception>
    Task<World[]> GetWorldsAsync(int[] ids, CancellationToken cancellationToken);

    /// <summary>Every Fortune row, in no particular order, in a new list the caller owns.</summary>
    Task<List<Fortune>> GetFortunesAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Stores each row's <see cref="World.RandomNumber"/> under its <see cref="World.Id"/> in one round trip (the
    /// benchmark's updates test allows batching): on SQLite one UPDATE statement for every row, on MySQL one
    /// single-row UPDATE per row, sent as one batch (TechEmpower's verifier counts MySQL's statements). The ids should
    /// be distinct: if one repeats, which of its values is stored depends on the engine.
    /// </summary>
    Task UpdateWorldsAsync(World[] worlds, CancellationToken cancellationToken);
}
