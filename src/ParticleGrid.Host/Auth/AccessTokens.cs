using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using ParticleGrid.Storage;

namespace ParticleGrid.Host.Auth;

/// <summary>
/// The roles a token carries: <c>instrument</c> may only ingest, <c>qa</c> reads and reviews, <c>admin</c> manages models
/// and tokens (and may do everything else).
/// </summary>
public static class Roles
{
    public const string Instrument = "instrument", Qa = "qa", Admin = "admin";

    public static IReadOnlyList<string> All { get; } = [Instrument, Qa, Admin];
}

/// <summary>The authorization policies endpoints name.</summary>
public static class Policies
{
    public const string Read = "read", Review = "review", Ingest = "ingest", Administer = "administer";
}

/// <summary>Making and storing access tokens. Only a token's SHA-256 is stored; the token is shown once, to whoever made it.</summary>
public static class AccessTokens
{
    public const string Prefix = "pgt_";

    public static string New() => Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string Sha256(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    /// <summary>Creates a token with a role and an optional expiry, audited as <paramref name="createdBy"/>'s; returns it (the only time it exists in clear).</summary>
    /// <exception cref="ArgumentException">An unknown role, an empty name, or an expiry that has passed.</exception>
    public static async Task<(string Token, AccessToken Stored)> CreateAsync(IParticleStore store, string role, string name, DateTimeOffset? expiresUtc = null,
        Actor? createdBy = null, CancellationToken cancellation = default)
    {
        if (!Roles.All.Contains(role)) throw new ArgumentException($"role '{role}' is not one of {string.Join(", ", Roles.All)}");
        if (string.IsNullOrWhiteSpace(name) || name.Length > 100) throw new ArgumentException("a token needs a name of 1-100 characters (who or what uses it)");
        var now = DateTimeOffset.UtcNow;
        if (expiresUtc is { } expires && expires <= now) throw new ArgumentException($"the expiry {expires:u} has passed; give a time to come (or none)");
        string token = New();
        var stored = await store.SaveTokenAsync(Sha256(token), name.Trim(), role, now, expiresUtc, createdBy ?? new Actor(null, "particlegrid"), cancellation);
        return (token, stored);
    }

    /// <summary>
    /// An expiry as people write it: a lifetime from <paramref name="now"/> ("30d", "12h", "90m") or a time
    /// ("2027-01-31", "2027-01-31T18:00:00Z"; without an offset it is UTC). Null or empty: no expiry.
    /// </summary>
    /// <exception cref="ArgumentException">Neither form, or a lifetime of zero.</exception>
    public static DateTimeOffset? ParseExpiry(string? text, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        text = text.Trim();
        if (text.Length > 1 && "dhm".Contains(char.ToLowerInvariant(text[^1]))
            && int.TryParse(text[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out int count))
        {
            if (count <= 0) throw new ArgumentException($"expiry '{text}': a lifetime must be at least 1");
            return char.ToLowerInvariant(text[^1]) switch { 'd' => now.AddDays(count), 'h' => now.AddHours(count), _ => now.AddMinutes(count) };
        }
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)) return at;
        throw new ArgumentException($"expiry '{text}' is neither a lifetime (30d, 12h, 90m) nor an ISO 8601 time (2027-01-31T18:00:00Z)");
    }

    /// <summary>Who a request's token is, for the audit trail: its id and its name.</summary>
    public static Actor ActorOf(ClaimsPrincipal user) =>
        new(user.FindFirstValue(TokenIdClaim), user.Identity?.Name ?? "unknown");

    /// <summary>The claim that carries the id of the token a request presented.</summary>
    public const string TokenIdClaim = "token_id";
}
