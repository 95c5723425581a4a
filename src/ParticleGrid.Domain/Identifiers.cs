namespace ParticleGrid.Domain;

/// <summary>
/// The rule for run, lot, instrument and particle ids, checked against this one rule wherever an id enters: a reader's
/// list row, an HTTP request, a grain call. Ids become URL segments, file names and store keys, hence the narrow alphabet.
/// </summary>
public static class Identifiers
{
    public const string Rule = "1-128 characters of letters, digits, '.', '_', '-', ':'";

    public static bool IsValid(string? id) =>
        id is { Length: > 0 and <= 128 } && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or ':');
}
