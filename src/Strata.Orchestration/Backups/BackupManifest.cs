using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Strata.Orchestration.Backups;

/// <summary>
/// A backup's <c>manifest.json</c>: what was backed up, from where, at which replication position, and the dump file's
/// size and SHA-256, which <c>strata restore</c> checks before it changes anything. Written last, into a folder that is
/// renamed to its final name only then: a folder with a manifest is a finished backup.
/// </summary>
/// <param name="Format">The manifest's format, <see cref="CurrentFormat"/>.</param>
/// <param name="CreatedAt">When the dump's snapshot was taken (UTC): the backup holds every transaction committed before it.</param>
/// <param name="SourceNode">The database node backed up (the primary then).</param>
/// <param name="Database">The schema backed up: <c>foobar</c>.</param>
/// <param name="GtidPosition">The GTID position of the snapshot: a replica seeded from this dump starts replicating here.</param>
/// <param name="Dump">The dump file.</param>
/// <param name="ServerVersion">Its server's version (<c>SELECT VERSION()</c>).</param>
/// <param name="BinlogFile">The primary's binary log file at the snapshot (point-in-time recovery with mariadb-binlog starts here).</param>
/// <param name="BinlogPosition">The position in <paramref name="BinlogFile"/>.</param>
/// <param name="StrataVersion">The version of the strata that made it, when known.</param>
internal sealed record BackupManifest(
    int Format,
    DateTimeOffset CreatedAt,
    string SourceNode,
    string Database,
    string GtidPosition,
    BackupDumpFile Dump,
    string? ServerVersion = null,
    string? BinlogFile = null,
    long? BinlogPosition = null,
    string? StrataVersion = null)
{
    /// <summary>The format this version writes and reads.</summary>
    public const int CurrentFormat = 1;

    /// <summary>The manifest's name in a backup folder.</summary>
    public const string FileName = "manifest.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        // A file for people and tools, never HTML: "1.0.0+abc", not "1.0.0\u002Babc".
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // A field missing or null where the record has no null (a manifest cut short, or edited) is an error, not a default.
        RespectRequiredConstructorParameters = true,
        RespectNullableAnnotations = true,
    };

    /// <summary>The manifest as JSON text.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json) + "\n";

    /// <summary>The manifest of <paramref name="json"/>, or null with the reason when it is not one.</summary>
    public static BackupManifest? Parse(string json, out string? problem)
    {
        try
        {
            var manifest = JsonSerializer.Deserialize<BackupManifest>(json, Json);
            problem = manifest switch
            {
                null => "it is null",
                { Format: not CurrentFormat } => $"its format is {manifest.Format}; this strata reads format {CurrentFormat}",
                _ => null,
            };
            return problem is null ? manifest : null;
        }
        catch (JsonException ex)
        {
            problem = $"it is not valid JSON ({ex.Message})";
            return null;
        }
    }
}

/// <summary>The dump file of a backup, as the manifest records it.</summary>
/// <param name="File">Its name in the backup folder.</param>
/// <param name="Size">Its length in bytes.</param>
/// <param name="Sha256">The SHA-256 of its bytes, lower-case hexadecimal.</param>
internal sealed record BackupDumpFile(string File, long Size, string Sha256);
