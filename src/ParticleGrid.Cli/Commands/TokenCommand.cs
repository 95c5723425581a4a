using System.CommandLine;
using ParticleGrid.Host.Auth;
using ParticleGrid.Storage;

namespace ParticleGrid.Cli.Commands;

/// <summary><c>particlegrid token create --role R</c>: a new access token, written to the site's store (only its hash) and shown once.</summary>
public static class TokenCommand
{
    public static Command Create()
    {
        var role = new Option<string>("--role") { Description = "instrument (ingest only), qa (read and review) or admin (models, tokens)", Required = true };
        role.AcceptOnlyFromAmong([.. Roles.All]);
        var name = new Option<string?>("--name") { Description = "Who or what uses it (shown in the audit trail)" };
        var data = new Option<DirectoryInfo>("--data-dir") { Description = "The embedded host's data directory", DefaultValueFactory = _ => new DirectoryInfo("particlegrid-data") };
        var postgres = new Option<string?>("--postgres") { Description = "A cluster's PostgreSQL connection string (instead of --data-dir)" };
        var create = new Command("create", "Makes a token with a role and prints it once; only its SHA-256 is stored.") { role, name, data, postgres };
        create.SetAction((parse, cancellation) => CommandErrors.Guard(async () =>
        {
            string? connection = parse.GetValue(postgres);
            string folder = parse.GetValue(data)!.FullName;
            if (connection is null && !File.Exists(Path.Combine(folder, "particles.db")))
                throw new ArgumentException($"{folder}: no particle store here (particles.db); give the data directory 'serve' or 'demo' used");
            using var store = connection is null ? SqlParticleStore.Sqlite(Path.Combine(folder, "particles.db")) : SqlParticleStore.Postgres(connection);
            await store.EnsureCreatedAsync(cancellation);
            string roleName = parse.GetValue(role)!;
            var (token, stored) = await AccessTokens.CreateAsync(store, roleName, parse.GetValue(name) ?? $"{roleName} token {DateTime.UtcNow:yyyy-MM-dd}", cancellation);
            Console.WriteLine(token);
            Console.Error.WriteLine($"token {stored.TokenId} ({stored.Role}, '{stored.Name}') stored in {store}; it is shown only now");
            return 0;
        }));
        return new Command("token", "Access tokens for the HTTP API and the web UI.") { create };
    }
}
