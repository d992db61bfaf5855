namespace Strata.Tests.Orchestration.Backups;

/// <summary>A backup folder as <c>strata backup</c> writes it, around the dump MariaDB 10.11's mariadb-dump wrote of a small guestbook.</summary>
internal static class SampleDump
{
    /// <summary>mariadb-dump --single-transaction --gtid --master-data=2 --routines --triggers --events --databases foobar (shortened).</summary>
    public const string Text = """
        /*M!999999\- enable the sandbox mode */
        -- MariaDB dump 10.19  Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)
        --
        -- Host: localhost    Database: foobar
        -- ------------------------------------------------------
        -- Server version 10.11.19-MariaDB-0+deb12u1-log

        /*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
        /*!40101 SET NAMES utf8mb4 */;
        /*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;
        -- CHANGE MASTER TO MASTER_USE_GTID=slave_pos;

        -- CHANGE MASTER TO MASTER_LOG_FILE='mariadb-bin.000001', MASTER_LOG_POS=1293;

        --
        -- Current Database: `foobar`
        --

        CREATE DATABASE /*!32312 IF NOT EXISTS*/ `foobar` /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin */;

        USE `foobar`;

        DROP TABLE IF EXISTS `messages`;
        CREATE TABLE `messages` (
          `id` bigint(20) NOT NULL AUTO_INCREMENT,
          `text` varchar(100) DEFAULT NULL,
          PRIMARY KEY (`id`)
        ) ENGINE=InnoDB AUTO_INCREMENT=4 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

        LOCK TABLES `messages` WRITE;
        /*!40000 ALTER TABLE `messages` DISABLE KEYS */;
        INSERT INTO `messages` VALUES
        (1,'a'),
        (2,'CHANGE MASTER TO MASTER_HOST=\'evil\''),
        (3,'SET sql_log_bin=0');
        /*!40000 ALTER TABLE `messages` ENABLE KEYS */;
        UNLOCK TABLES;

        -- SET GLOBAL gtid_slave_pos='0-1-5';
        /*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;
        /*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */;

        -- Dump completed on 2026-12-06 23:09:19

        """;

    /// <summary>Writes <paramref name="dump"/> and a manifest that matches it (unless <paramref name="manifestJson"/> gives another) into <paramref name="folder"/>.</summary>
    public static void WriteBackup(string folder, string dump = Text, string? manifestJson = null)
    {
        Directory.CreateDirectory(folder);
        var bytes = System.Text.Encoding.UTF8.GetBytes(dump);
        File.WriteAllBytes(Path.Combine(folder, "foobar.sql"), bytes);
        File.WriteAllText(Path.Combine(folder, "manifest.json"), manifestJson ?? Manifest(bytes.Length, Sha256(bytes)));
    }

    public static string Manifest(long size, string sha256, string file = "foobar.sql", int format = 1) => $$"""
        {
          "format": {{format}},
          "createdAt": "2026-12-06T23:09:19.123+00:00",
          "sourceNode": "db-1",
          "database": "foobar",
          "gtidPosition": "0-1-5",
          "dump": { "file": "{{file}}", "size": {{size}}, "sha256": "{{sha256}}" },
          "binlogFile": "mariadb-bin.000001",
          "binlogPosition": 1293
        }
        """;

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
}
