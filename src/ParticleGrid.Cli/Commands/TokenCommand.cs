using System.CommandLine;
using ParticleGrid.Host.Auth;
using ParticleGrid.Storage;

namespace ParticleGrid.Cli.Commands;

/// <summary>
/// <c>particlegrid token create|list|revoke</c>: access tokens, on the site's store directly (the embedded data
/// directory, or a cluster's PostgreSQL). Whoever may run this on the site's machine with the store's credentials is
/// an admin already; what it does is audited under the name "particlegrid token (USER)", without a token id.
/// </summary>
public static class TokenCommand
{
    public static Command Create()
    {
        var data = new Option<DirectoryInfo>("--data-dir") { Description = "The embedded host's data directory", DefaultValueFactory = _ => new DirectoryInfo("particlegrid-data") };
        var postgres = new Option<string?>("--postgres") { Description = "A cluster's PostgreSQL connection string (instead of --data-dir)" };
        return new Command("token", "Access tokens for the HTTP API and the web UI: make, list and revoke them.")
        {
            CreateCommand(data, postgres), ListCommand(data, postgres), RevokeCommand(data, postgres),
        };
    }

    private static Command CreateCommand(Option<DirectoryInfo> data, Option<string?> postgres)
    {
        var role = new Option<string>("--role") { Description = "instrument (ingest only), qa (read and review) or admin (models, tokens, lots)", Required = true };
        role.AcceptOnlyFromAmong([.. Roles.All]);
        var name = new Option<string?>("--name") { Description = "Who or what uses it (shown in the audit trail)" };
        var expires = new Option<string?>("--expires") { Description = "When it stops working: a lifetime (30d, 12h, 90m) or an ISO 8601 time; none: until revoked" };
        var create = new Command("create", "Makes a token with a role and prints it once; only its SHA-256 is stored.") { role, name, expires, data, postgres };
        create.SetAction((parse, cancellation) => CommandErrors.Guard(async () =>
        {
            var until = AccessTokens.ParseExpiry(parse.GetValue(expires), DateTimeOffset.UtcNow);
            using var store = await OpenAsync(parse.GetValue(data)!, parse.GetValue(postgres), cancellation);
            string roleName = parse.GetValue(role)!;
            var (token, stored) = await AccessTokens.CreateAsync(store, roleName, parse.GetValue(name) ?? $"{roleName} token {DateTime.UtcNow:yyyy-MM-dd}",
                until, Operator, cancellation);
            Console.WriteLine(token);
            string expiry = stored.ExpiresUtc is { } at ? $", expires {at:u}" : ", does not expire";
            Console.Error.WriteLine($"token {stored.TokenId} ({stored.Role}, '{stored.Name}'{expiry}) stored in {store}; it is shown only now");
            return 0;
        }));
        return create;
    }

    private static Command ListCommand(Option<DirectoryInfo> data, Option<string?> postgres)
    {
        var list = new Command("list", "Lists every token: id, role, name, created, expires, last use (to the minute), revoked. Never a token or its hash.") { data, postgres };
        list.SetAction((parse, cancellation) => CommandErrors.Guard(async () =>
        {
            using var store = await OpenAsync(parse.GetValue(data)!, parse.GetValue(postgres), cancellation);
            var tokens = await store.ListTokensAsync(cancellation);
            var now = DateTimeOffset.UtcNow;
            string[] header = ["ID", "ROLE", "NAME", "CREATED", "EXPIRES", "LAST USED", "STATE"];
            var rows = tokens.Select(t => new[]
            {
                t.TokenId, t.Role, t.Name, Time(t.CreatedUtc), Time(t.ExpiresUtc) ?? "never", Time(t.LastUsedUtc) ?? "never",
                t.RevokedUtc is { } r ? $"revoked {Time(r)}" : t.RefusalAt(now) is not null ? "expired" : "active",
            }).ToList();
            int[] widths = [.. header.Select((h, i) => rows.Select(r => r[i].Length).Append(h.Length).Max())];
            foreach (var row in rows.Prepend(header)) Console.WriteLine(string.Join("  ", row.Select((cell, i) => cell.PadRight(widths[i]))).TrimEnd());
            return 0;
        }));
        return list;
    }

    private static Command RevokeCommand(Option<DirectoryInfo> data, Option<string?> postgres)
    {
        var id = new Argument<string>("id") { Description = "The token's id, as 'token list' shows it" };
        var revoke = new Command("revoke", "Revokes a token: every gateway refuses it within 5 seconds. Audited; it cannot be undone.") { id, data, postgres };
        revoke.SetAction((parse, cancellation) => CommandErrors.Guard(async () =>
        {
            using var store = await OpenAsync(parse.GetValue(data)!, parse.GetValue(postgres), cancellation);
            string tokenId = parse.GetValue(id)!;
            var revoked = await store.RevokeTokenAsync(tokenId, Operator, DateTimeOffset.UtcNow, cancellation)
                ?? throw new ArgumentException($"no token has the id '{tokenId}' in {store} ('particlegrid token list' shows them)");
            Console.WriteLine($"token {revoked.TokenId} ({revoked.Role}, '{revoked.Name}') revoked at {revoked.RevokedUtc:u}");
            return 0;
        }));
        return revoke;
    }

    /// <summary>Who the audit trail names for what this command does: the operator on the site's machine (no token).</summary>
    private static Actor Operator => new(null, $"particlegrid token ({Environment.UserName})");

    private static async Task<SqlParticleStore> OpenAsync(DirectoryInfo data, string? connection, CancellationToken cancellation)
    {
        string folder = data.FullName;
        if (connection is null && !File.Exists(Path.Combine(folder, "particles.db")))
            throw new ArgumentException($"{folder}: no particle store here (particles.db); give the data directory 'serve' or 'demo' used");
        var store = connection is null ? SqlParticleStore.Sqlite(Path.Combine(folder, "particles.db")) : SqlParticleStore.Postgres(connection);
        await store.EnsureCreatedAsync(cancellation);
        return store;
    }

    private static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private static string? Time(DateTimeOffset? time) => time is { } t ? Time(t) : null;
}
