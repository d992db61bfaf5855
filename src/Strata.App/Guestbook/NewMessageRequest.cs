namespace Strata.App.Guestbook;

/// <summary>The body of POST /api/messages; fields are nullable so a missing one is a validation error, not a parse error.</summary>
internal sealed record NewMessageRequest(string? Author, string? Text)
{
    public const int MaxAuthorLength = 64;
    public const int MaxTextLength = 1000;

    /// <summary>
    /// Checks both fields, collecting every error keyed by field name. Values are trimmed; lengths count Unicode
    /// characters (an emoji is one), as MySQL's VARCHAR does, not UTF-16 code units.
    /// </summary>
    public bool TryValidate(out string author, out string text, out Dictionary<string, string[]> errors)
    {
        errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        author = Check(Author, "author", MaxAuthorLength, errors);
        text = Check(Text, "text", MaxTextLength, errors);
        return errors.Count == 0;
    }

    private static string Check(string? value, string field, int maxLength, Dictionary<string, string[]> errors)
    {
        var trimmed = value?.Trim() ?? "";
        if (trimmed.Length == 0)
        {
            errors[field] = [$"{field} is required"];
            return trimmed;
        }

        // Unicode scalar values; System.Text.Json has already rejected lone surrogates.
        if (trimmed.EnumerateRunes().Count() > maxLength)
        {
            errors[field] = [$"{field} must be at most {maxLength} characters"];
        }

        return trimmed;
    }
}
