using System.Text.Json;
using System.Text.Json.Serialization;

namespace Strata.Topology;

/// <summary>Reads strata.json and validates it into a <see cref="Topology"/>.</summary>
public static class TopologyLoader
{
    /// <summary>The file name looked for when none is given.</summary>
    public const string DefaultFileName = "strata.json";

    private static readonly JsonSerializerOptions SerializerOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        PropertyNameCaseInsensitive = false,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        // A misspelt field must be an error, not a silently ignored setting.
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>Loads and validates a topology file.</summary>
    /// <exception cref="TopologyException">The file is missing, not JSON, or invalid; every problem is listed.</exception>
    public static Topology Load(string path)
    {
        var fullPath = Path.GetFullPath(path);
        string json;
        try
        {
            json = File.ReadAllText(fullPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new TopologyException(fullPath, [new TopologyError("(file)", $"cannot be read: {ex.Message}")]);
        }

        return Parse(json, fullPath);
    }

    /// <summary>Parses and validates topology JSON; relative paths are taken from <paramref name="sourcePath"/>'s folder.</summary>
    public static Topology Parse(string json, string sourcePath)
    {
        TopologyOptions? options;
        try
        {
            options = JsonSerializer.Deserialize<TopologyOptions>(json, SerializerOptions);
        }
        catch (JsonException ex)
        {
            throw new TopologyException(sourcePath, [Describe(ex)]);
        }

        if (options is null)
        {
            throw new TopologyException(sourcePath, [new TopologyError("(root)", "must be a JSON object")]);
        }

        return TopologyValidator.Validate(options, sourcePath);
    }

    private static TopologyError Describe(JsonException ex)
    {
        var field = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "(root)" : ex.Path.TrimStart('$', '.');
        var message = ex.Message;
        var cut = message.IndexOf(" Path: ", StringComparison.Ordinal);
        if (cut >= 0)
        {
            message = message[..cut];
        }

        // STJ reports an unknown field at its parent's path; name the field itself.
        const string UnknownPrefix = "The JSON property '";
        if (message.StartsWith(UnknownPrefix, StringComparison.Ordinal))
        {
            var name = message[UnknownPrefix.Length..message.IndexOf('\'', UnknownPrefix.Length)];
            var named = field == "(root)" ? name : field.EndsWith($".{name}", StringComparison.Ordinal) ? field : $"{field}.{name}";
            return new TopologyError(named, "unknown field");
        }

        var line = ex.LineNumber is { } l ? $" (line {l + 1})" : "";
        return new TopologyError(field, message.TrimEnd('.') + line);
    }
}
