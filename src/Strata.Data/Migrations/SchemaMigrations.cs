namespace Strata.Data.Migrations;

/// <summary>
/// The guestbook schema's history, oldest first. Append only: a released step never changes, a change is a new
/// step. Every step must be safe to repeat on MySQL, where DDL commits on its own and a crash can leave a step
/// done but unrecorded.
/// </summary>
internal static class SchemaMigrations
{
    /// <summary>Every step, ordered by version.</summary>
    public static IReadOnlyList<Migration> All { get; } =
    [
        // IF NOT EXISTS: SQLite files made before the runner existed already have this table.
        new(1, "create messages",
            Sqlite: """
                CREATE TABLE IF NOT EXISTS messages (
                    id         INTEGER PRIMARY KEY AUTOINCREMENT,
                    author     TEXT    NOT NULL,
                    text       TEXT    NOT NULL,
                    created_at INTEGER NOT NULL -- Unix time in milliseconds, UTC
                );
                """,
            MySql: """
                CREATE TABLE IF NOT EXISTS messages (
                    id         BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    author     TEXT   NOT NULL,
                    text       TEXT   NOT NULL,
                    created_at BIGINT NOT NULL COMMENT 'Unix time in milliseconds, UTC'
                ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
                """),
    ];
}
