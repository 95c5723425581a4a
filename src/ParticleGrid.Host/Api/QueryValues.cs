using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using ParticleGrid.Domain;

namespace ParticleGrid.Host.Api;

/// <summary>A query parameter that cannot be read; the API answers 400 naming it.</summary>
public sealed class BadQueryException(string parameter, string problem) : Exception($"query parameter '{parameter}': {problem}")
{
    public string Parameter { get; } = parameter;
}

/// <summary>Reads query parameters strictly: a malformed value is an error naming the parameter, never a silent default.</summary>
public static class QueryValues
{
    public static string? Text(IQueryCollection query, string name, int maxLength = 200)
    {
        string? value = query[name];
        if (string.IsNullOrEmpty(value)) return null;
        return value.Length <= maxLength ? value : throw new BadQueryException(name, $"longer than {maxLength} characters");
    }

    public static double? Number(IQueryCollection query, string name, double min = double.MinValue, double max = double.MaxValue)
    {
        string? value = Text(query, name);
        if (value is null) return null;
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double number) || !double.IsFinite(number))
            throw new BadQueryException(name, $"'{value}' is not a number");
        return number >= min && number <= max ? number : throw new BadQueryException(name, $"{value} is outside {min}-{max}");
    }

    public static int Integer(IQueryCollection query, string name, int fallback, int min, int max)
    {
        string? value = Text(query, name);
        if (value is null) return fallback;
        if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int number)) throw new BadQueryException(name, $"'{value}' is not a whole number");
        return number >= min && number <= max ? number : throw new BadQueryException(name, $"{value} is outside {min}-{max}");
    }

    public static bool? Flag(IQueryCollection query, string name)
    {
        string? value = Text(query, name);
        return value switch
        {
            null => null,
            "true" or "1" => true,
            "false" or "0" => false,
            _ => throw new BadQueryException(name, $"'{value}' is not true or false"),
        };
    }

    public static DateTimeOffset? Date(IQueryCollection query, string name)
    {
        string? value = Text(query, name);
        if (value is null) return null;
        return DateTimeOffset.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date)
            ? date : throw new BadQueryException(name, $"'{value}' is not a date (yyyy-MM-dd)");
    }

    /// <summary>A particle type by its folder name ("silicone_oil"), or "unclassified".</summary>
    public static string? ParticleTypeName(IQueryCollection query, string name)
    {
        string? value = Text(query, name);
        if (value is null) return null;
        if (value == LotProfiles.Unclassified) return value;
        return ParticleTypes.TryParse(value, out var type) ? ParticleTypes.FolderName(type)
            : throw new BadQueryException(name, $"'{value}' is not a particle type ({string.Join(", ", Enum.GetValues<ParticleType>().Select(ParticleTypes.FolderName))})");
    }

    public static VerdictOutcome? Verdict(IQueryCollection query, string name)
    {
        string? value = Text(query, name);
        if (value is null) return null;
        return Enum.TryParse<VerdictOutcome>(value, ignoreCase: true, out var verdict) && Enum.IsDefined(verdict)
            ? verdict : throw new BadQueryException(name, $"'{value}' is not Pass, Fail or NotAssessable");
    }

    /// <summary>
    /// A particle page's cursor (<c>?after=</c>): the key of the last particle of the page before, as the API gave it
    /// in a page's <c>next</c>. Opaque to clients (base64url of run and particle id), so its form may change.
    /// </summary>
    public static Storage.ParticleKey? After(IQueryCollection query, string name)
    {
        string? value = Text(query, name, maxLength: 1000);
        if (value is null) return null;
        try
        {
            if (Encoding.UTF8.GetString(Base64Url.DecodeFromChars(value)).Split('\n') is [{ Length: > 0 } run, { Length: > 0 } particle])
                return new Storage.ParticleKey(run, particle);
        }
        catch (FormatException)
        {
        }
        throw new BadQueryException(name, $"'{value}' is not a cursor this API gave (a page's 'next')");
    }

    /// <summary>The cursor <see cref="After"/> reads.</summary>
    public static string Cursor(Storage.ParticleKey key) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{key.RunId}\n{key.ParticleId}"));

    /// <summary>
    /// A lot list page's cursor (<c>GET /lots?after=</c>): the place of the last lot of the page before, as the API gave it
    /// in the list's <c>next</c>. Opaque to clients like the particle cursor (base64url of the last run's time and the lot id).
    /// </summary>
    public static Storage.LotKey? LotAfter(IQueryCollection query, string name)
    {
        string? value = Text(query, name, maxLength: 1000);
        if (value is null) return null;
        try
        {
            if (Encoding.UTF8.GetString(Base64Url.DecodeFromChars(value)).Split('\n', 2) is [var recent, { Length: > 0 } lot]
                && long.TryParse(recent, NumberStyles.Integer, CultureInfo.InvariantCulture, out long recentUnixMs))
                return new Storage.LotKey(recentUnixMs, lot);
        }
        catch (FormatException)
        {
        }
        throw new BadQueryException(name, $"'{value}' is not a cursor this API gave (a lot list's 'next')");
    }

    /// <summary>The cursor <see cref="LotAfter"/> reads.</summary>
    public static string LotCursor(Storage.LotKey key) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{key.RecentUnixMs}\n{key.LotId}")));
}
