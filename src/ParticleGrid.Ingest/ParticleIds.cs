namespace ParticleGrid.Ingest;

/// <summary>
/// The rule for particle ids, the same as ParticleGrid.Abstractions' Identifiers (Ingest does not reference
/// Abstractions, which would bring Orleans to every instrument PC that only reads exports).
/// </summary>
internal static class ParticleIds
{
    public const string Rule = "1-128 characters of letters, digits, '.', '_', '-', ':'";

    public static bool IsValid(string? id) =>
        id is { Length: > 0 and <= 128 } && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or ':');
}
