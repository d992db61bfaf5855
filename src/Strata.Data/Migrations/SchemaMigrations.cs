namespace Strata.Data.Migrations;

/// <summary>
/// The database schema's history, oldest first, in two lists sharing one <c>schema_migrations</c> table and one
/// numbering: the guestbook's, and the benchmark tables' (only where the benchmarks are on). Append only: a released
/// step never changes, a change is a new step, with a version no list has used. Every step must be safe to repeat on MySQL, where DDL commits on its
/// own and a crash can leave a step done but unrecorded.
/// </summary>
internal static class SchemaMigrations
{
    /// <summary>The TechEmpower benchmarks' twelve fortunes, as SQL rows (the same literal on both engines).</summary>
    private const string Fortunes = """
        (1, 'fortune: No such file or directory'),
        (2, 'A computer scientist is someone who fixes things that aren''t broken.'),
        (3, 'After enough decimal places, nobody gives a damn.'),
        (4, 'A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1'),
        (5, 'A computer program does what you tell it to do, not what you want it to do.'),
        (6, 'Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen'),
        (7, 'Any program that runs right is obsolete.'),
        (8, 'A list is only as strong as its weakest link. — Donald Knuth'),
        (9, 'Feature: A bug with seniority.'),
        (10, 'Computers make very fast, very accurate mistakes.'),
        (11, '<script>alert("This should not be displayed in a browser alert box.");</script>'),
        (12, 'フレームワークのベンチマーク')
        """;

    /// <summary>The guestbook's steps, ordered by version: what every app node applies.</summary>
    public static IReadOnlyList<Migration> Guestbook { get; } =
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

    /// <summary>
    /// The TechEmpower benchmarks' tables, applied only where the benchmark endpoints are on (<c>app.benchmarkEndpoints</c>,
    /// <see cref="Bench.IWorldStore.InitializeAsync"/>). Their versions follow the guestbook's in the one history.
    /// </summary>
    public static IReadOnlyList<Migration> Benchmarks { get; } =
    [
        // The TechEmpower Framework Benchmarks' World table: ids 1..10000, each with a random number 1..10000.
        // Generated in SQL; on MySQL by crossing four digit tables (MySQL 8 caps recursive CTEs at 1000 rows).
        new(2, "create and seed World (TechEmpower benchmarks)",
            Sqlite: """
                CREATE TABLE IF NOT EXISTS World (
                    id           INTEGER NOT NULL PRIMARY KEY,
                    randomNumber INTEGER NOT NULL DEFAULT 0
                );
                WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 10000)
                INSERT OR IGNORE INTO World (id, randomNumber) SELECT n, abs(random() % 10000) + 1 FROM seq;
                """,
            MySql: """
                CREATE TABLE IF NOT EXISTS World (
                    id           INT NOT NULL PRIMARY KEY,
                    randomNumber INT NOT NULL DEFAULT 0
                ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
                INSERT IGNORE INTO World (id, randomNumber)
                SELECT 1 + d1.d + 10 * d10.d + 100 * d100.d + 1000 * d1000.d, 1 + FLOOR(RAND() * 10000)
                FROM (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
                      UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d1
                CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
                      UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d10
                CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
                      UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d100
                CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
                      UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS d1000;
                """),

        // The benchmarks' Fortune table with its twelve standard rows (the fortunes test adds a thirteenth per request).
        new(3, "create and seed Fortune (TechEmpower benchmarks)",
            Sqlite: $"""
                CREATE TABLE IF NOT EXISTS Fortune (
                    id      INTEGER       NOT NULL PRIMARY KEY,
                    message VARCHAR(2048) NOT NULL
                );
                INSERT OR IGNORE INTO Fortune (id, message) VALUES {Fortunes};
                """,
            MySql: $"""
                CREATE TABLE IF NOT EXISTS Fortune (
                    id      INT           NOT NULL PRIMARY KEY,
                    message VARCHAR(2048) NOT NULL
                ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
                INSERT IGNORE INTO Fortune (id, message) VALUES {Fortunes};
                """),
    ];
}
