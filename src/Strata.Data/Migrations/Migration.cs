namespace Strata.Data.Migrations;

/// <summary>One step of the schema, written once per engine; applied at most once per database.</summary>
/// <param name="Version">Position in the history, from 1, without gaps; recorded in <c>schema_migrations</c>.</param>
/// <param name="Name">What the step does, for people reading <c>schema_migrations</c>.</param>
/// <param name="Sqlite">The step's SQL for SQLite.</param>
/// <param name="MySql">The step's SQL for MySQL and MariaDB.</param>
internal sealed record Migration(int Version, string Name, string Sqlite, string MySql)
{
    /// <summary>The SQL of this step for <paramref name="engine"/>.</summary>
    public string SqlFor(MigrationEngine engine) => engine == MigrationEngine.Sqlite ? Sqlite : MySql;
}

/// <summary>The engines the migrations are written for; each takes its own kind of lock.</summary>
internal enum MigrationEngine
{
    /// <summary>SQLite: the history is read and written inside <c>BEGIN IMMEDIATE</c>.</summary>
    Sqlite,

    /// <summary>MySQL or MariaDB: the history is read and written under <c>GET_LOCK</c>.</summary>
    MySql,
}
