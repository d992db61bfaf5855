using System.Data.Common;
using Strata.Data.Bench;

namespace Strata.Tests.Data.Bench;

/// <summary>What the TechEmpower benchmarks' tables hold after migration, written out here rather than read from the code under test.</summary>
internal static class BenchData
{
    public const int WorldRows = 10000;

    /// <summary>The twelve standard fortunes, by id.</summary>
    public static readonly Fortune[] Fortunes =
    [
        new(1, "fortune: No such file or directory"),
        new(2, "A computer scientist is someone who fixes things that aren't broken."),
        new(3, "After enough decimal places, nobody gives a damn."),
        new(4, "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1"),
        new(5, "A computer program does what you tell it to do, not what you want it to do."),
        new(6, "Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen"),
        new(7, "Any program that runs right is obsolete."),
        new(8, "A list is only as strong as its weakest link. — Donald Knuth"),
        new(9, "Feature: A bug with seniority."),
        new(10, "Computers make very fast, very accurate mistakes."),
        new(11, "<script>alert(\"This should not be displayed in a browser alert box.\");</script>"),
        new(12, "フレームワークのベンチマーク"),
    ];

    /// <summary>Every World row, read through <paramref name="connection"/> (outside any store), by id.</summary>
    public static async Task<Dictionary<int, int>> ReadWorldsAsync(DbConnection connection)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, randomNumber FROM World;";
        var worlds = new Dictionary<int, int>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            worlds.Add(Convert.ToInt32(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture), Convert.ToInt32(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture));
        }

        return worlds;
    }

    /// <summary>Every Fortune row, read through <paramref name="connection"/> (outside any store), by id.</summary>
    public static async Task<List<Fortune>> ReadFortunesAsync(DbConnection connection)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, message FROM Fortune ORDER BY id;";
        var fortunes = new List<Fortune>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            fortunes.Add(new Fortune(Convert.ToInt32(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture), reader.GetString(1)));
        }

        return fortunes;
    }
}
