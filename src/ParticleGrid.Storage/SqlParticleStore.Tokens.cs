using System.Data.Common;
using Npgsql;

namespace ParticleGrid.Storage;

/// <summary>
/// Access tokens and the admin audit trail. A token is stored as its SHA-256 with a name, a role, an optional expiry,
/// when it was last used and when it was revoked; rows are never deleted, so a revoked token still names the audit
/// entries it made. The admin audit trail keeps who (token id and name) made or revoked a token or changed a lot.
/// </summary>
public sealed partial class SqlParticleStore
{
    /// <summary>How stale a token's last use may be before a request writes it again: one write a minute per token, not one per request.</summary>
    public static readonly TimeSpan LastUseResolution = TimeSpan.FromMinutes(1);

    private const string TokenColumns = "token_id, name, role, created_unix_ms, expires_unix_ms, last_used_unix_ms, revoked_unix_ms";

    public Task<AccessToken?> SaveTokenAsync(string tokenSha256, string name, string role, DateTimeOffset created, bool onlyIfNoTokens = false,
        CancellationToken cancellation = default) =>
        SaveTokenAsync(tokenSha256, name, role, created, expiresUtc: null, createdBy: null, onlyIfNoTokens, cancellation);

    public async Task<AccessToken> SaveTokenAsync(string tokenSha256, string name, string role, DateTimeOffset created, DateTimeOffset? expiresUtc,
        Actor createdBy, CancellationToken cancellation = default) =>
        (await SaveTokenAsync(tokenSha256, name, role, created, expiresUtc, createdBy, onlyIfNoTokens: false, cancellation))!;

    private async Task<AccessToken?> SaveTokenAsync(string tokenSha256, string name, string role, DateTimeOffset created, DateTimeOffset? expiresUtc,
        Actor? createdBy, bool onlyIfNoTokens, CancellationToken cancellation)
    {
        var token = new AccessToken(tokenSha256[..12], name, role, Milliseconds(created), expiresUtc is { } e ? Milliseconds(e) : null);
        int saved = await WriteAsync(async (connection, transaction) =>
        {
            if (connection is NpgsqlConnection) await ExecuteAsync(connection, transaction, "LOCK TABLE tokens IN EXCLUSIVE MODE", cancellation);
            if (onlyIfNoTokens)
            {
                await using var count = connection.CreateCommand();
                count.Transaction = transaction;
                count.CommandText = "SELECT COUNT(*) FROM tokens";
                if (Convert.ToInt64(await count.ExecuteScalarAsync(cancellation)) > 0) return 0;
            }
            int inserted = await ExecuteAsync(connection, transaction,
                "INSERT INTO tokens (token_id, name, role, sha256, created_unix_ms, expires_unix_ms) VALUES (@id, @name, @role, @sha, @created, @expires)", cancellation,
                ("id", token.TokenId), ("name", name), ("role", role), ("sha", tokenSha256), ("created", token.CreatedUtc.ToUnixTimeMilliseconds()),
                ("expires", token.ExpiresUtc?.ToUnixTimeMilliseconds()));
            string expiry = token.ExpiresUtc is { } until ? $"expires {until:u}" : "does not expire";
            await AppendAdminAuditAsync(connection, transaction, createdBy ?? new Actor(null, "site start"), "token created", token.TokenId,
                $"'{name}', role {role}, {expiry}", token.CreatedUtc, cancellation);
            return inserted;
        }, cancellation);
        return saved == 1 ? token : null;
    }

    /// <summary>The token with this hash, revoked or expired ones too (the caller decides, with <see cref="AccessToken.RefusalAt"/>); null when none.</summary>
    public async Task<AccessToken?> FindTokenAsync(string tokenSha256, CancellationToken cancellation = default) =>
        (await ReadAsync($"SELECT {TokenColumns} FROM tokens WHERE sha256 = @sha", [("sha", tokenSha256)], ReadToken, cancellation)).SingleOrDefault();

    /// <summary>Every token, oldest first, without its hash.</summary>
    public async Task<IReadOnlyList<AccessToken>> ListTokensAsync(CancellationToken cancellation = default) =>
        await ReadAsync($"SELECT {TokenColumns} FROM tokens ORDER BY created_unix_ms, token_id", [], ReadToken, cancellation);

    /// <summary>
    /// Notes that the token was used at <paramref name="at"/>, unless a use within <see cref="LastUseResolution"/> is
    /// already noted (by this gateway or another): at most one write a minute per token, whatever the request rate.
    /// </summary>
    public async Task TouchTokenAsync(string tokenId, DateTimeOffset at, CancellationToken cancellation = default)
    {
        long now = at.ToUnixTimeMilliseconds();
        await WriteAsync((connection, transaction) => ExecuteAsync(connection, transaction,
            "UPDATE tokens SET last_used_unix_ms = @lastused WHERE token_id = @id AND (last_used_unix_ms IS NULL OR last_used_unix_ms <= @stale)", cancellation,
            ("id", tokenId), ("lastused", now), ("stale", now - (long)LastUseResolution.TotalMilliseconds)), cancellation);
    }

    /// <summary>
    /// Revokes a token, audited. Revoking it again keeps the first revocation (and writes nothing). Null when no token has
    /// this id. Gateways that remember the token stop accepting it within their cache's lifetime.
    /// </summary>
    public async Task<AccessToken?> RevokeTokenAsync(string tokenId, Actor revokedBy, DateTimeOffset at, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(revokedBy);
        AccessToken? found = null;
        await WriteAsync(async (connection, transaction) =>
        {
            if (connection is NpgsqlConnection) await ExecuteAsync(connection, transaction, "LOCK TABLE tokens IN EXCLUSIVE MODE", cancellation);
            int revoked = await ExecuteAsync(connection, transaction,
                "UPDATE tokens SET revoked_unix_ms = @revoked WHERE token_id = @id AND revoked_unix_ms IS NULL", cancellation,
                ("id", tokenId), ("revoked", at.ToUnixTimeMilliseconds()));
            await using (var query = connection.CreateCommand())
            {
                query.Transaction = transaction;
                query.CommandText = $"SELECT {TokenColumns} FROM tokens WHERE token_id = @id";
                Add(query, "id", tokenId);
                await using var reader = await query.ExecuteReaderAsync(cancellation);
                if (await reader.ReadAsync(cancellation)) found = ReadToken(reader);
            }
            if (revoked == 1 && found is not null)
                await AppendAdminAuditAsync(connection, transaction, revokedBy, "token revoked", tokenId, $"'{found.Name}', role {found.Role}", at, cancellation);
            return revoked;
        }, cancellation);
        return found;
    }

    /// <summary>The admin audit trail, oldest first; only the entries about <paramref name="subject"/> (a token id, a lot id) when given.</summary>
    public async Task<IReadOnlyList<AdminAuditEntry>> AdminAuditAsync(string? subject = null, CancellationToken cancellation = default) => await ReadAsync(
        "SELECT sequence, at_unix_ms, token_id, token_name, action, subject, detail FROM admin_audit"
            + (subject is null ? "" : " WHERE subject = @subject") + " ORDER BY sequence",
        subject is null ? [] : [("subject", subject)],
        reader => new AdminAuditEntry(Convert.ToInt64(reader.GetValue(0)), DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(reader.GetValue(1))),
            NullableString(reader, 2), reader.GetString(3), reader.GetString(4), reader.GetString(5), reader.GetString(6)),
        cancellation);

    /// <summary>One entry of the admin audit trail, in the transaction of the change it records (both or neither are written).</summary>
    private static async Task AppendAdminAuditAsync(DbConnection connection, DbTransaction transaction, Actor actor, string action, string subject, string detail,
        DateTimeOffset at, CancellationToken cancellation)
    {
        // One writer numbers entries at a time (SQLite: the store's writer lock; PostgreSQL: a table lock).
        if (connection is NpgsqlConnection) await ExecuteAsync(connection, transaction, "LOCK TABLE admin_audit IN EXCLUSIVE MODE", cancellation);
        await ExecuteAsync(connection, transaction, """
            INSERT INTO admin_audit (sequence, at_unix_ms, token_id, token_name, action, subject, detail)
            SELECT COALESCE(MAX(sequence), 0) + 1, @at, @tokenid, @tokenname, @action, @subject, @detail FROM admin_audit
            """, cancellation,
            ("at", at.ToUnixTimeMilliseconds()), ("tokenid", actor.TokenId), ("tokenname", actor.Name), ("action", action), ("subject", subject), ("detail", detail));
    }

    private static AccessToken ReadToken(DbDataReader reader) => new(reader.GetString(0), reader.GetString(1), reader.GetString(2),
        DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(reader.GetValue(3))), NullableTime(reader, 4), NullableTime(reader, 5), NullableTime(reader, 6));

    private static DateTimeOffset? NullableTime(DbDataReader reader, int column) =>
        reader.IsDBNull(column) ? null : DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(reader.GetValue(column)));

    private static DateTimeOffset Milliseconds(DateTimeOffset time) => DateTimeOffset.FromUnixTimeMilliseconds(time.ToUnixTimeMilliseconds());
}
