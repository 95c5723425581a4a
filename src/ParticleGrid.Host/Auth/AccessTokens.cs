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

    /// <summary>Creates a token with a role and returns it (the only time it exists in clear).</summary>
    /// <exception cref="ArgumentException">An unknown role or an empty name.</exception>
    public static async Task<(string Token, AccessToken Stored)> CreateAsync(IParticleStore store, string role, string name, CancellationToken cancellation = default)
    {
        if (!Roles.All.Contains(role)) throw new ArgumentException($"role '{role}' is not one of {string.Join(", ", Roles.All)}");
        if (string.IsNullOrWhiteSpace(name) || name.Length > 100) throw new ArgumentException("a token needs a name of 1-100 characters (who or what uses it)");
        string token = New();
        var stored = await store.SaveTokenAsync(Sha256(token), name.Trim(), role, DateTimeOffset.UtcNow, cancellation: cancellation);
        return (token, stored!);
    }
}
